using DurableJobs.Engine.Hosting;
using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>An embedded engine inside the benchmark process, on Azurite, without logging.</summary>
internal static class BenchmarkEngineHost
{
    /// <summary>
    /// Builds and starts an engine host on task hub <paramref name="hub"/> with the built-in job handlers. With a
    /// <paramref name="registry"/> it runs those orchestrations and activities; with <c>DurableJobs:RunWorker=false</c> in <paramref name="settings"/> it is
    /// a client only.
    /// </summary>
    public static async Task<IHost> StartAsync(string connection, string hub, IReadOnlyDictionary<string, string?> settings, DurableTaskRegistry? registry, CancellationToken cancellationToken, ILoggerProvider? logs = null)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connection,
            ["DurableJobs:HubName"] = hub,
            ["DurableJobs:Azurite:AutoStart"] = "false",
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
        }

        if (registry is not null)
        {
            builder.Services.AddSingleton(registry);
        }

        // Every benchmark batch runs the built-in job types (echo, delay); a registry adds the baselines' own
        // orchestrations beside the batch orchestrator, it does not replace the job handlers.
        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        IHost host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    /// <summary>Stops the host and disposes its engine at once (leases released, queues no longer polled).</summary>
    public static async Task StopAsync(IHost host)
    {
        Task stopping = StopAndDisposeAsync(host);
        if (await Task.WhenAny(stopping, Task.Delay(StopPatience)).ConfigureAwait(false) != stopping)
        {
            // Stopping runs in a finally, after a run failed (say a batch that never became final): a host that does not
            // stop must not turn that failure into a hang; the process exits without it.
            Reporting.Report.Progress($"the engine host did not stop within {StopPatience.TotalSeconds:0} s; left to the process exit");
            return;
        }

        await stopping.ConfigureAwait(false);
    }

    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(60);

    private static async Task StopAndDisposeAsync(IHost host)
    {
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await host.Services.GetRequiredService<DurableJobsEngine>().DisposeAsync().ConfigureAwait(false);
    }
}
