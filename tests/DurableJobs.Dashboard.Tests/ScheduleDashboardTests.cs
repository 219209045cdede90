using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DurableJobs.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class ScheduleDashboardTests(DashboardFixture fixture)
{
    [Fact]
    public async Task The_schedules_page_shows_next_occurrences_and_its_buttons_trigger_pause_and_resume()
    {
        string name = "dash-" + Guid.NewGuid().ToString("N")[..8];
        var schedule = new JsonObject
        {
            ["cron"] = "0 2 * * *",
            ["timeZone"] = "Europe/Berlin",
            ["template"] = new JsonObject { ["jobs"] = new JsonArray(new JsonObject { ["type"] = "echo", ["payload"] = 1 }) },
        };
        using (HttpResponseMessage created = await fixture.Http.PutAsJsonAsync($"/api/schedules/{name}", schedule))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        }

        IPage page = await fixture.OpenAsync("#/schedules");
        try
        {
            await Expect(page.Locator("#view")).ToHaveAttributeAsync("data-view", "schedules");
            ILocator row = page.Locator($"tr[data-schedule='{name}']");
            await Expect(row.Locator("[data-role=state]")).ToHaveTextAsync("active");
            await Expect(row.Locator("[data-role=next]")).Not.ToHaveTextAsync("-");

            // Trigger now: a run appears and reaches Completed, linked to its batch.
            await row.Locator("button[data-action=trigger]").ClickAsync();
            ILocator run = row.Locator("[data-role=run][data-trigger=manual]");
            await Expect(run).ToHaveAttributeAsync("data-outcome", "Completed");
            Assert.StartsWith($"#/batches/{name}-manual-", await run.Locator("a").GetAttributeAsync("href"), StringComparison.Ordinal);

            await row.Locator("button[data-action=pause]").ClickAsync();
            await Expect(row.Locator("[data-role=state]")).ToHaveTextAsync("paused");
            await Expect(row.Locator("[data-role=next]")).ToHaveTextAsync("-");
            await row.Locator("button[data-action=resume]").ClickAsync();
            await Expect(row.Locator("[data-role=state]")).ToHaveTextAsync("active");
            await Expect(page.Locator("#error")).ToBeHiddenAsync();
        }
        finally
        {
            await page.CloseAsync();
            (await fixture.Http.DeleteAsync($"/api/schedules/{name}")).Dispose();
        }
    }
}
