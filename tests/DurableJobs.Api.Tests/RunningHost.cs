using DurableJobs.Client;
using DurableJobs.Host.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Api.Tests;

/// <summary>An embedded host started on a free loopback port against the test emulator; disposing stops it.</summary>
public sealed class RunningHost : IAsyncDisposable
{
    private RunningHost(WebApplication app, Uri baseAddress, string queueName)
    {
        App = app;
        BaseAddress = baseAddress;
        QueueName = queueName;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public string QueueName { get; }

    public BatchClient Batches => App.Services.GetRequiredService<BatchClient>();

    /// <summary>The settings every test host uses: fast polling, its own task hub and queue, no Azurite of its own.</summary>
    public static Dictionary<string, string?> Settings(string connectionString, string hubName, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["AzureWebJobsStorage"] = connectionString,
            ["DurableJobs:HubName"] = hubName,
            ["DurableJobs:PartitionCount"] = "2",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.5",
            ["DurableJobs:Azurite:AutoStart"] = "false",
            ["DurableJobs:BatchQueueName"] = hubName.ToLowerInvariant() + "-batches",
            ["DurableJobs:Queue:Enabled"] = "false",
            ["DurableJobs:Queue:MaxPollingInterval"] = "00:00:00.5",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach ((string key, string? value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static async Task<RunningHost> StartAsync(IDictionary<string, string?> settings)
    {
        WebApplication app = EmbeddedWebHost.Build([], settings);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        // Port 0 was bound to a free port; the server reports which. A wildcard address is reached through loopback.
        var bound = new UriBuilder(app.Urls.First()) { Host = "127.0.0.1" };
        return new RunningHost(app, bound.Uri, settings["DurableJobs:BatchQueueName"]!);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
