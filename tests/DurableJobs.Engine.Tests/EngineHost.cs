using System.Diagnostics;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Engine.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Tests;

/// <summary>An embedded engine in this test process, on a given task hub, with the built-in handlers plus the probe.</summary>
public sealed class EngineHost : IAsyncDisposable
{
    private readonly IHost host;
    private bool stopped;

    private EngineHost(IHost host) => this.host = host;

    public BatchClient Client => host.Services.GetRequiredService<BatchClient>();

    public IServiceProvider Services => host.Services;

    /// <summary>
    /// Starts a host with the built-in handlers and the probe; <paramref name="jobs"/> adds handlers and services, and
    /// <paramref name="configure"/> runs after every registration, to replace or wrap one of them.
    /// </summary>
    public static async Task<EngineHost> StartAsync(
        string connectionString, string hubName, ProbeJobHandler probe, IDictionary<string, string?>? settings = null,
        Action<DurableJobsBuilder>? jobs = null, Action<IServiceCollection>? configure = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["DurableJobs:HubName"] = hubName,
            ["DurableJobs:PartitionCount"] = "2",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.500",
            ["DurableJobs:Azurite:AutoStart"] = "false",
            ["DurableJobs:CancelPollInterval"] = "00:00:00.250",
        };
        foreach ((string key, string? value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        DurableJobsBuilder durableJobs = builder.Services.AddDurableJobs().AddBuiltInHandlers().AddHandler("probe", probe).AddWorker();
        jobs?.Invoke(durableJobs);
        configure?.Invoke(builder.Services);
        IHost host = builder.Build();
        await host.StartAsync();
        return new EngineHost(host);
    }

    /// <summary>Stops the host the way SIGTERM does and says how long it took.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var clock = Stopwatch.StartNew();
        stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        clock.Stop();
        if (host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }
        return clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (!stopped)
        {
            await StopAsync();
        }
    }
}
