using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// The host's own memory, measured outside the benchmark process: the built <c>durablejobs serve --worker-only</c> runs
/// as a child process on a fresh Azurite, this process only submits (a client-only engine, so no job runs here) and
/// samples the child's working set: idle, during and after one batch, during and after a second identical batch.
/// Nothing forces a GC in the host: the numbers are what an operator would see. Then, with memory measured, the same
/// host serves the cluster cancel probe (<see cref="ClusterCancelProbe"/>): it is the one worker here in another process.
/// </summary>
internal static class HostMemoryRun
{
    private const string Hub = "benchhost";

    public static async Task<(HostMemoryResult Memory, ClusterCancelResult Cancel)> RunAsync(int jobs, int cap, bool quick, CancellationToken cancellationToken)
    {
        // Long enough for start-up work (JIT, lease acquisition) to end before "idle", and for the host to finish its
        // own bookkeeping after a batch (orchestration checkpoint, result flush) before "after".
        TimeSpan settle = quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);
        string data = Directory.CreateTempSubdirectory("durablejobs-bench-host-azurite-").FullName;
        try
        {
            await using AzuriteProcess azurite = await AzuriteProcess.StartAsync(
                new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
                NullLogger.Instance,
                cancellationToken).ConfigureAwait(false);

            await using WorkerHostProcess worker = await WorkerHostProcess.StartAsync(HostEnvironment(azurite.ConnectionString), TimeSpan.FromSeconds(90), cancellationToken).ConfigureAwait(false);
            using IHost client = await StartClientAsync(azurite.ConnectionString, cancellationToken).ConfigureAwait(false);
            try
            {
                using var sampler = new ProcessWorkingSetSampler(worker.Process);
                await Task.Delay(settle, cancellationToken).ConfigureAwait(false);
                long idle = sampler.Current();
                sampler.TakePeak();

                Report.Progress($"engine: host process, batch 1 of {jobs} jobs");
                TimeSpan batch1 = await RunBatchAsync(client.Services, worker, jobs, cap, cancellationToken).ConfigureAwait(false);
                long peak1 = sampler.TakePeak();
                await Task.Delay(settle, cancellationToken).ConfigureAwait(false);
                long after1 = sampler.Current();
                peak1 = Math.Max(peak1, sampler.TakePeak());

                Report.Progress($"engine: host process, batch 2 of {jobs} jobs");
                TimeSpan batch2 = await RunBatchAsync(client.Services, worker, jobs, cap, cancellationToken).ConfigureAwait(false);
                long peak2 = sampler.TakePeak();
                await Task.Delay(settle, cancellationToken).ConfigureAwait(false);
                long after2 = sampler.Current();
                peak2 = Math.Max(peak2, sampler.TakePeak());
                worker.ThrowIfExited();
                var memory = new HostMemoryResult(jobs, idle, peak1, after1, peak2, after2, batch1, batch2);

                Report.Progress($"engine: host process, cluster cancel of {cap} running jobs");
                ClusterCancelResult cancel = await ClusterCancelProbe.MeasureAsync(client.Services, worker, cap, cancellationToken).ConfigureAwait(false);
                return (memory, cancel);
            }
            finally
            {
                await BenchmarkEngineHost.StopAsync(client).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // Azurite may still hold a file for a moment; the temp folder is the OS's to clean.
            }
        }
    }

    private static Dictionary<string, string> HostEnvironment(string connection) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["AzureWebJobsStorage"] = connection,
        ["DurableJobs__HubName"] = Hub,
        ["DurableJobs__Azurite__AutoStart"] = "false",
        // The same polling as the in-process rows.
        ["DurableJobs__MaxQueuePollingInterval"] = "00:00:00.5",
        // Warnings only, as a busy host would run (an Information line per job is 100,000 console lines per batch);
        // the engine's start line stays on: it is how this run knows the worker is up.
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__DurableJobs.Engine.Hosting.DurableJobsEngine"] = "Information",
        ["Logging__Console__FormatterName"] = "simple",
        ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["NO_COLOR"] = "1",
    };

    private static Task<IHost> StartClientAsync(string connection, CancellationToken cancellationToken) =>
        BenchmarkEngineHost.StartAsync(connection, Hub, new Dictionary<string, string?> { ["DurableJobs:RunWorker"] = "false" }, registry: null, cancellationToken);

    private static async Task<TimeSpan> RunBatchAsync(IServiceProvider services, WorkerHostProcess worker, int size, int cap, CancellationToken cancellationToken) =>
        (await EchoBatch.RunAsync(services, size, cap, worker.ThrowIfExited, cancellationToken).ConfigureAwait(false)).Elapsed;
}
