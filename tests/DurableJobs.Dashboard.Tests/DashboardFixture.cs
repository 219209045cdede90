using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DurableJobs.Host.Web;
using DurableJobs.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace DurableJobs.Dashboard.Tests;

/// <summary>
/// The storage emulator, an embedded host on a free loopback port and a headless chromium, started once for the
/// collection and stopped in reverse order. The host requires an API key, so every test also proves the dashboard
/// forwards <c>?code=</c> to the API.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ApiKey = "dashboard-test-key";

    private StorageEmulator? emulator;
    private WebApplication? app;
    private IPlaywright? playwright;

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The dashboard's address with the key, as a user with a keyed host would open it.</summary>
    public string DashboardUrl(string hash = "#/") => new Uri(BaseAddress, "/?code=" + ApiKey + hash).AbsoluteUri;

    public async Task InitializeAsync()
    {
        // Assertions poll the page; the default 5 s is short for a batch to show up on a busy 2-core machine.
        Assertions.SetDefaultExpectTimeout(30_000);

        // The browser first: without it nothing here can run, and the message says how to get it.
        playwright = await Playwright.CreateAsync();
        Browser = await Chromium.LaunchAsync(playwright);

        emulator = await StorageEmulator.StartAsync();
        app = EmbeddedWebHost.Build([], new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = emulator.ConnectionString,
            ["DurableJobs:HubName"] = "DashboardTests",
            ["DurableJobs:PartitionCount"] = "2",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.5",
            ["DurableJobs:Azurite:AutoStart"] = "false",
            ["DurableJobs:Queue:Enabled"] = "false",
            [EmbeddedWebHost.ApiKeySetting] = ApiKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await app.StartAsync();

        // Port 0 was bound to a free port; the server reports which.
        BaseAddress = new UriBuilder(app.Urls.First()) { Host = "127.0.0.1" }.Uri;
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Add(ApiKeyMiddleware.HeaderName, ApiKey);
    }

    public async Task<IPage> NewPageAsync()
    {
        IPage page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1000 } });
        page.SetDefaultTimeout(60_000);
        return page;
    }

    public async Task<IPage> OpenAsync(string hash = "#/")
    {
        IPage page = await NewPageAsync();
        await page.GotoAsync(DashboardUrl(hash));
        return page;
    }

    /// <summary>Submits a batch over the HTTP API, as a user would.</summary>
    public async Task SubmitAsync(JsonObject batch)
    {
        using HttpResponseMessage response = await Http.PostAsJsonAsync("/api/batches", batch);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"Submission answered {(int)response.StatusCode}: {body}");
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        playwright?.Dispose();
        Http?.Dispose();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }
}
