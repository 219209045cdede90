using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DurableJobs.Dashboard.Tests;

/// <summary>Issue 17: the batch page's Running filter lists the running jobs with their progress, in headless chromium.</summary>
[Collection(DashboardCollection.Name)]
public sealed class JobProgressDashboardTests(DashboardFixture fixture)
{
    private const float Slow = 90_000;

    [Fact]
    public async Task The_Running_filter_shows_both_running_15s_delays_with_a_progress_bar_and_their_seconds_done()
    {
        string id = Samples.NewId("dash-progress");
        await fixture.SubmitAsync(Samples.Delays(id, count: 2, ms: 15_000, maxParallel: 2));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });

        await page.Locator("#job-status").SelectOptionAsync("Running");
        ILocator running = page.Locator("#jobs tbody tr[data-status='Running']");
        await Expect(running).ToHaveCountAsync(2, new() { Timeout = Slow });
        ILocator progress = running.First.Locator("[data-role='progress']");
        await Expect(progress).ToContainTextAsync(new System.Text.RegularExpressions.Regex("[0-9]+ of 15 s"), new() { Timeout = Slow });
        await Expect(progress.Locator("progress")).ToHaveCountAsync(1);
        double value = double.Parse(await progress.GetAttributeAsync("data-value") ?? "-1", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(value, 1, 100);

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.Locator("#cancel").ClickAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Cancelled", new() { Timeout = Slow });
        await Expect(running).ToHaveCountAsync(0, new() { Timeout = Slow });
        await page.CloseAsync();
    }
}
