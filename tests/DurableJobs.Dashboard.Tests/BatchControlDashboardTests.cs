using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DurableJobs.Dashboard.Tests;

/// <summary>The batch page's Pause/Resume and Re-run failed buttons, in headless chromium against a real host.</summary>
[Collection(DashboardCollection.Name)]
public sealed class BatchControlDashboardTests(DashboardFixture fixture)
{
    private const float Slow = 90_000;

    [Fact]
    public async Task Pause_shows_Paused_and_turns_into_Resume_which_runs_the_batch_again()
    {
        string id = Samples.NewId("dash-pause");
        await fixture.SubmitAsync(Samples.Delays(id, count: 20, ms: 1_000, maxParallel: 2));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });
        await Expect(page.Locator("#pause")).ToHaveTextAsync("Pause");
        await Expect(page.Locator("#rerun")).ToBeDisabledAsync();

        await page.Locator("#pause").ClickAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Paused", new() { Timeout = Slow });
        await Expect(page.Locator("#pause")).ToHaveTextAsync("Resume");
        await Expect(page.Locator("#pause")).ToBeEnabledAsync();
        Assert.Equal("Paused", (await fixture.GetJsonAsync($"/api/batches/{id}")).GetProperty("status").GetString());

        await page.Locator("#pause").ClickAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });
        await Expect(page.Locator("#pause")).ToHaveTextAsync("Pause");

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.Locator("#cancel").ClickAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Cancelled", new() { Timeout = Slow });
        await Expect(page.Locator("#pause")).ToBeDisabledAsync();
        await page.CloseAsync();
    }

    [Fact]
    public async Task Set_cap_raises_the_cap_of_a_running_batch_and_the_chart_draws_it_as_a_step()
    {
        string id = Samples.NewId("dash-cap");
        await fixture.SubmitAsync(Samples.Delays(id, count: 40, ms: 400, maxParallel: 2));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });
        await Expect(page.Locator("#cap-value")).ToHaveValueAsync("2");

        await page.Locator("#cap-value").FillAsync("6");
        await page.Locator("#set-cap").ClickAsync();
        await Expect(page.Locator("#batch-meta")).ToContainTextAsync("cap 6 in flight", new() { Timeout = Slow });
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });
        await Expect(page.Locator("#cap-line")).ToHaveAttributeAsync("data-cap-steps", "[2,6]", new() { Timeout = Slow });
        await Expect(page.Locator("#set-cap")).ToBeDisabledAsync();

        JsonElement timeline = await fixture.GetJsonAsync($"/api/batches/{id}/timeline");
        Assert.Equal([2, 6], timeline.GetProperty("capSteps").EnumerateArray().Select(c => c.GetProperty("maxParallel").GetInt32()));
        Assert.InRange(timeline.GetProperty("maxInFlight").GetInt32(), 3, 6);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Rerun_failed_starts_the_rerun_of_the_failed_jobs_and_opens_it()
    {
        string id = Samples.NewId("dash-rerun");
        var jobs = new JsonArray();
        for (int i = 0; i < 6; i++)
        {
            jobs.Add(new JsonObject { ["id"] = $"job-{i}", ["type"] = i % 3 == 0 ? "fail" : "echo" });
        }

        await fixture.SubmitAsync(new JsonObject { ["batchId"] = id, ["maxParallel"] = 3, ["jobs"] = jobs });
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });
        await Expect(page.Locator("#rerun")).ToBeEnabledAsync();

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.Locator("#rerun").ClickAsync();
        await Expect(page.Locator("#batch-id")).ToHaveTextAsync($"{id}.r1", new() { Timeout = Slow });
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });
        await Expect(page.Locator("[data-count=Total] .n")).ToHaveTextAsync("2");
        await Expect(page.Locator("#jobs tbody tr[data-job-id='job-0']")).ToBeVisibleAsync();
        await Expect(page.Locator("#jobs tbody tr[data-job-id='job-3']")).ToBeVisibleAsync();

        JsonElement original = await fixture.GetJsonAsync($"/api/batches/{id}");
        Assert.Equal([$"{id}.r1"], original.GetProperty("reruns").EnumerateArray().Select(r => r.GetString()!));
        await page.GotoAsync(page.Url.Replace($"{id}.r1", id, StringComparison.Ordinal));
        await Expect(page.Locator("#batch-meta")).ToContainTextAsync($"re-runs: {id}.r1", new() { Timeout = Slow });
        await page.CloseAsync();
    }

    [Fact]
    public async Task Delete_shows_only_on_a_finished_batch_asks_first_and_once_confirmed_deletes_it_and_returns_to_the_list()
    {
        string id = Samples.NewId("dash-delete");
        await fixture.SubmitAsync(Samples.Delays(id, count: 4, ms: 1_500, maxParallel: 1));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });
        await Expect(page.Locator("#delete")).ToBeHiddenAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });
        await Expect(page.Locator("#delete")).ToBeVisibleAsync();

        bool accept = false;
        var asked = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            asked.Add(dialog.Message);
            await (accept ? dialog.AcceptAsync() : dialog.DismissAsync());
        };
        await page.Locator("#delete").ClickAsync();
        await Expect(page.Locator("#delete")).ToBeEnabledAsync();
        Assert.Equal("Completed", (await fixture.GetJsonAsync($"/api/batches/{id}")).GetProperty("status").GetString());

        accept = true;
        await page.Locator("#delete").ClickAsync();
        await page.WaitForURLAsync(url => url.EndsWith("#/", StringComparison.Ordinal), new() { Timeout = Slow });

        Assert.Equal(2, asked.Count);
        Assert.All(asked, message => Assert.Contains(id, message, StringComparison.Ordinal));
        using HttpResponseMessage gone = await fixture.Http.GetAsync($"/api/batches/{id}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, gone.StatusCode);
        await page.CloseAsync();
    }

    [Fact]
    public async Task A_finished_batch_with_hooks_shows_their_delivery_in_its_meta_line()
    {
        string id = Samples.NewId("dash-hooks");
        await fixture.SubmitAsync(new JsonObject
        {
            ["batchId"] = id,
            ["jobs"] = new JsonArray(new JsonObject { ["type"] = "echo" }),
            ["onComplete"] = new JsonObject { ["queue"] = "dash-hooks-done" },
            ["next"] = new JsonObject { ["onlyOnSuccess"] = true, ["batch"] = new JsonObject { ["jobs"] = new JsonArray(new JsonObject { ["type"] = "echo" }) } },
        });
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-meta")).ToContainTextAsync("hooks: Queue Delivered, Next Delivered", new() { Timeout = Slow });
        JsonElement view = await fixture.GetJsonAsync($"/api/batches/{id}");
        Assert.Equal(["Delivered", "Delivered"], view.GetProperty("hooks").EnumerateArray().Select(h => h.GetProperty("state").GetString()!));
        Assert.Equal($"{id}.next", (await fixture.GetJsonAsync($"/api/batches/{id}.next")).GetProperty("id").GetString());
        await page.CloseAsync();
    }
}
