using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace DurableJobs.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardFixture fixture)
{
    private const float Slow = 90_000;

    [Fact]
    public async Task The_page_loads_with_its_assets_and_the_batch_list()
    {
        IPage page = await fixture.NewPageAsync();
        var failed = new List<string>();
        page.RequestFailed += (_, request) => failed.Add(request.Url);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                failed.Add($"{response.Status} {response.Url}");
            }
        };
        IResponse? document = await page.GotoAsync(fixture.DashboardUrl());
        Assert.Equal("text/html", document?.Headers["content-type"].Split(';')[0]);

        await Expect(page).ToHaveTitleAsync("DurableJobs");
        await Expect(page.Locator("#view")).ToHaveAttributeAsync("data-view", "list");
        await Expect(page.Locator("#batches thead")).ToContainTextAsync("Progress");
        await Expect(page.Locator("#refresh")).ToContainTextAsync("updated");
        await Expect(page.Locator("#error")).ToBeHiddenAsync();
        Assert.Empty(failed);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Without_the_key_in_the_url_the_page_says_how_to_pass_it()
    {
        IPage page = await fixture.NewPageAsync();
        await page.GotoAsync(new Uri(fixture.BaseAddress, "/").AbsoluteUri);

        // The assets are served without the key; the data is not.
        await Expect(page).ToHaveTitleAsync("DurableJobs");
        await Expect(page.Locator("#error")).ToContainTextAsync("?code=");
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_key_leaves_the_address_bar_once_read_and_the_page_keeps_working_after_a_reload()
    {
        IPage page = await fixture.OpenAsync();
        await Expect(page.Locator("#refresh")).ToContainTextAsync("updated");
        Assert.DoesNotContain("code=", page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(DashboardFixture.ApiKey, page.Url, StringComparison.Ordinal);
        Assert.EndsWith("/#/", page.Url, StringComparison.Ordinal);

        // The tab keeps the key: a reload and another view still reach the API.
        await page.ReloadAsync();
        await Expect(page.Locator("#view")).ToHaveAttributeAsync("data-view", "list");
        await Expect(page.Locator("#refresh")).ToContainTextAsync("updated");
        await Expect(page.Locator("#error")).ToBeHiddenAsync();
        await page.GotoAsync(new Uri(fixture.BaseAddress, "/#/batches/no-such-batch").AbsoluteUri);
        await Expect(page.Locator("#error")).ToContainTextAsync("No batch has the id 'no-such-batch'");
        Assert.DoesNotContain(DashboardFixture.ApiKey, page.Url, StringComparison.Ordinal);
        await page.CloseAsync();
    }

    [Fact]
    public async Task No_other_page_can_show_the_dashboard_in_a_frame()
    {
        // A page of another origin that frames the dashboard, key and all, as a clickjacking page would under a decoy.
        // It is served from loopback too (another port): chromium already keeps public pages from framing loopback
        // ones, and this test is about what the dashboard's own answers forbid, in any browser.
        using var decoy = new System.Net.HttpListener();
        int port = DurableJobs.Engine.Emulator.AzuriteProcess.FindFreePortRange();
        decoy.Prefixes.Add($"http://127.0.0.1:{port}/");
        decoy.Start();
        Task serving = ServeDecoyAsync(decoy, $"<!DOCTYPE html><title>decoy</title><iframe width=800 height=600 src=\"{fixture.DashboardUrl()}\"></iframe>");

        IPage page = await fixture.NewPageAsync();
        var requested = new List<string>();
        page.Request += (_, request) => requested.Add(request.Url);
        await page.GotoAsync($"http://127.0.0.1:{port}/");
        await page.WaitForTimeoutAsync(3000);

        // The browser fetched the page but refused to render it in the frame, so its script never ran.
        Assert.Contains(requested, url => url.StartsWith(fixture.BaseAddress.AbsoluteUri, StringComparison.Ordinal));
        Assert.DoesNotContain(requested, url => url.Contains("dashboard.js", StringComparison.Ordinal) || url.Contains("/api/", StringComparison.Ordinal));
        IFrame frame = Assert.Single(page.Frames, f => f != page.MainFrame);
        Assert.DoesNotContain(fixture.BaseAddress.Authority, frame.Url, StringComparison.Ordinal);
        await page.CloseAsync();
        decoy.Stop();
        await serving;
    }

    [Fact]
    public async Task A_submitted_sample_appears_in_the_list_and_reaches_100_percent()
    {
        IPage page = await fixture.OpenAsync();
        await Expect(page.Locator("#refresh")).ToContainTextAsync("updated");
        string id = Samples.NewId("dash-quick");
        await fixture.SubmitAsync(Samples.Load("quick.json", id));

        // No reload: the list polls the API.
        ILocator row = page.Locator($"#batches tr[data-batch-id='{id}']");
        await Expect(row).ToBeVisibleAsync();
        await Expect(row.Locator("[data-role=percent]")).ToHaveTextAsync("100 %", new() { Timeout = Slow });
        await Expect(row).ToHaveAttributeAsync("data-status", "Completed");
        await Expect(row.Locator("[data-role=status]")).ToHaveTextAsync("Completed");

        // The row leads to the batch page with its counts and every job.
        await row.Locator("a").ClickAsync();
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed");
        JsonElement batch = await fixture.GetJsonAsync($"/api/batches/{id}");
        int total = batch.GetProperty("total").GetInt32();
        await Expect(page.Locator("[data-count=Total] .n")).ToHaveTextAsync(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Locator("[data-count=Succeeded] .n")).ToHaveTextAsync(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Locator("#jobs tbody tr[data-status=Succeeded]")).ToHaveCountAsync(total);
        await Expect(page.Locator("#cancel")).ToBeDisabledAsync();
        await page.CloseAsync();
    }

    [Fact]
    public async Task Cancel_on_a_long_batch_shows_Cancelled_and_the_filter_lists_the_cancelled_jobs()
    {
        string id = Samples.NewId("dash-cancel");
        await fixture.SubmitAsync(Samples.Delays(id, count: 20, ms: 60_000, maxParallel: 2));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Running", new() { Timeout = Slow });
        await Expect(page.Locator("#cancel")).ToBeEnabledAsync();

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.Locator("#cancel").ClickAsync();

        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Cancelled", new() { Timeout = Slow });
        await Expect(page.Locator("#batch-status")).ToContainTextAsync("Cancelled");
        await Expect(page.Locator("[data-count=Cancelled] .n")).ToHaveTextAsync("20");
        await Expect(page.Locator("#cancel")).ToBeDisabledAsync();
        JsonElement batch = await fixture.GetJsonAsync($"/api/batches/{id}");
        Assert.Equal("Cancelled", batch.GetProperty("status").GetString());

        // Filtering by status asks the API for that status only.
        await page.Locator("#job-status").SelectOptionAsync("Succeeded");
        await Expect(page.Locator("#jobs tbody")).ToContainTextAsync("No finished jobs with this status");
        await page.Locator("#job-status").SelectOptionAsync("Cancelled");
        await Expect(page.Locator("#jobs tbody tr[data-status=Cancelled]")).ToHaveCountAsync(20);
        await page.CloseAsync();
    }

    [Fact]
    public async Task Filtering_2500_jobs_by_a_status_only_the_last_one_has_shows_it()
    {
        // The server answers a filtered page after scanning 1,000 results, empty if none matched: the page follows the tokens.
        string id = Samples.NewId("dash-rare");
        var jobs = new System.Text.Json.Nodes.JsonArray();
        for (int i = 0; i < 2_500; i++)
        {
            jobs.Add(new System.Text.Json.Nodes.JsonObject { ["id"] = $"job-{i:0000}", ["type"] = i == 2_499 ? "fail" : "echo" });
        }

        await fixture.SubmitAsync(new System.Text.Json.Nodes.JsonObject { ["batchId"] = id, ["maxParallel"] = 50, ["jobs"] = jobs });
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });

        await page.Locator("#job-status").SelectOptionAsync("Failed");
        await Expect(page.Locator("#jobs tbody tr[data-status=Failed]")).ToHaveCountAsync(1);
        await Expect(page.Locator("#jobs tbody tr[data-job-id='job-2499']")).ToBeVisibleAsync();
        await Expect(page.Locator("#more")).ToBeHiddenAsync();
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_chart_never_shows_more_in_flight_than_the_cap_and_reaches_it()
    {
        const int cap = 4;
        string id = Samples.NewId("dash-chart");

        // Many more jobs than the cap, each long enough that the window is kept full.
        await fixture.SubmitAsync(Samples.Delays(id, count: 24, ms: 400, maxParallel: cap));
        IPage page = await fixture.OpenAsync($"#/batches/{id}");
        await Expect(page.Locator("#batch-status")).ToHaveAttributeAsync("data-status", "Completed", new() { Timeout = Slow });

        // The chart drawn after the batch finished carries every job.
        ILocator chart = page.Locator("#inflight-chart[data-batch-status=Completed]");
        await Expect(chart).ToBeVisibleAsync();
        int[] plotted = JsonSerializer.Deserialize<int[]>((await chart.GetAttributeAsync("data-series"))!)!;
        int drawnCap = int.Parse((await chart.GetAttributeAsync("data-cap"))!, System.Globalization.CultureInfo.InvariantCulture);

        JsonElement batch = await fixture.GetJsonAsync($"/api/batches/{id}");
        Assert.Equal(cap, batch.GetProperty("maxParallel").GetInt32());
        Assert.Equal(cap, drawnCap);
        Assert.NotEmpty(plotted);
        Assert.All(plotted, inFlight => Assert.InRange(inFlight, 0, cap));
        Assert.Equal(cap, plotted.Max());
        Assert.Equal(0, plotted[^1]);

        // What the page drew is what the server computed.
        JsonElement timeline = await fixture.GetJsonAsync($"/api/batches/{id}/timeline?points=200");
        Assert.Equal(24, timeline.GetProperty("jobsCounted").GetInt32());
        Assert.Equal(timeline.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("inFlight").GetInt32()), plotted);
        Assert.Equal(1, await chart.Locator("path.cap").CountAsync());
        Assert.Equal($"[{cap}]", await chart.Locator("path.cap").GetAttributeAsync("data-cap-steps"));
        await page.CloseAsync();
    }

    private static async Task ServeDecoyAsync(System.Net.HttpListener listener, string html)
    {
        try
        {
            while (listener.IsListening)
            {
                System.Net.HttpListenerContext context = await listener.GetContextAsync();
                byte[] body = System.Text.Encoding.UTF8.GetBytes(html);
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
        catch (Exception ex) when (ex is System.Net.HttpListenerException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
