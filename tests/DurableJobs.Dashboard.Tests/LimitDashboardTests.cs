using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DurableJobs.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class LimitDashboardTests(DashboardFixture fixture)
{
    private const float Slow = 120_000;

    [Fact]
    public async Task The_limits_view_lists_a_limit_of_2_held_by_running_jobs_and_charts_its_in_use_under_its_maximum()
    {
        string name = Samples.NewId("dash-lim");
        using (HttpResponseMessage created = await fixture.Http.PutAsJsonAsync($"/api/limits/{name}", new JsonObject { ["maxConcurrent"] = 2 }))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        // Ten 2 s jobs at cap 10, all taking the limit: about 10 s with 2 of them holding it at any time.
        string id = Samples.NewId("dash-limited");
        JsonObject batch = Samples.Delays(id, count: 10, ms: 2000, maxParallel: 10);
        batch["limits"] = new JsonObject { ["delay"] = new JsonArray(name) };
        await fixture.SubmitAsync(batch);

        IPage page = await fixture.OpenAsync("#/limits");
        try
        {
            await Expect(page.Locator("#view")).ToHaveAttributeAsync("data-view", "limits");
            ILocator row = page.Locator($"#limits tr[data-limit='{name}']");
            await Expect(row.Locator("[data-role=max]")).ToHaveTextAsync("2");
            await Expect(row.Locator("[data-role=effective]")).ToHaveTextAsync("2");
            await Expect(row.Locator("[data-role=waiting-batches]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^\\d+$"));

            // While the jobs run: 2 permits in use, leased by the host's worker.
            await Expect(row.Locator("[data-role=in-use]")).ToHaveTextAsync("2", new() { Timeout = Slow });
            await Expect(row.Locator("[data-role=leases]")).ToContainTextAsync("=2");

            // The chart has sampled the limit at 2 and draws the maximum and the effective value as lines.
            ILocator chart = page.Locator($"svg.limit-chart[data-limit='{name}']");
            await Expect(chart).ToHaveAttributeAsync("data-peak", "2", new() { Timeout = Slow });
            await Expect(chart).ToHaveAttributeAsync("data-series", new System.Text.RegularExpressions.Regex(@"^\[\d+(,\d+){2,}\]$"), new() { Timeout = Slow });
            int[] plotted = JsonSerializer.Deserialize<int[]>((await chart.GetAttributeAsync("data-series"))!)!;
            Assert.True(plotted.Length >= 3, $"the chart has {plotted.Length} point(s)");
            Assert.Equal(2, plotted.Max());
            Assert.All(plotted, inUse => Assert.InRange(inUse, 0, 2));
            Assert.Equal("[2]", await chart.Locator("path.cap").GetAttributeAsync("data-steps"));
            Assert.Equal("[2]", await chart.Locator("path.effective").GetAttributeAsync("data-steps"));
            Assert.Equal("2", await chart.GetAttributeAsync("data-max"));

            // What the page drew is what the host sampled.
            JsonElement timeline = await fixture.GetJsonAsync($"/api/limits/{name}/timeline");
            Assert.Equal(name, timeline.GetProperty("name").GetString());
            Assert.True(timeline.GetProperty("points").GetArrayLength() >= plotted.Length);
            await Expect(page.Locator("#error")).ToBeHiddenAsync();
        }
        finally
        {
            await page.CloseAsync();
            (await fixture.Http.PostAsJsonAsync($"/api/batches/{id}/cancel", new JsonObject())).Dispose();
        }
    }
}
