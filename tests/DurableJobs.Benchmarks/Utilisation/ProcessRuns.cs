using DurableJobs.Benchmarks.Engine;
using DurableJobs.Benchmarks.Reporting;
using Microsoft.Extensions.Hosting;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// DurableJobs in worker processes of their own (the built <c>durablejobs serve --worker-only</c>, as an operator
/// runs it), this process only submitting through a client-only engine: each grid cell's first batch in a fresh
/// process started right after the previous one left the hub, and one batch spread over several processes.
/// </summary>
internal static class ProcessRuns
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// For each cell: the process on the hub stops (SIGTERM, as a deploy or restart does), a new one starts, and the
    /// cell's batch is submitted the moment it says it is up. That new process is the one that leaves before the next cell.
    /// </summary>
    public static async Task<IReadOnlyList<RunOutcome>> FreshAsync(string connection, IReadOnlyList<(UtilisationCell Cell, int Jobs)> runs, CancellationToken cancellationToken)
    {
        const string hub = "utilfresh";
        var outcomes = new List<RunOutcome>();
        WorkerHostProcess current = await StartWorkerAsync(connection, hub, cancellationToken).ConfigureAwait(false);
        try
        {
            using IHost client = await StartClientAsync(connection, hub, cancellationToken).ConfigureAwait(false);
            try
            {
                foreach ((UtilisationCell cell, int jobs) in runs)
                {
                    Report.Progress($"utilisation: {cell.Label}, {jobs} jobs, DurableJobs in a fresh process");
                    if (!await current.StopGracefullyAsync(StopTimeout).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException($"The worker host did not stop within {StopTimeout.TotalSeconds:0} s of SIGTERM:{Environment.NewLine}{current.Tail()}");
                    }

                    await current.DisposeAsync().ConfigureAwait(false);
                    current = await StartWorkerAsync(connection, hub, cancellationToken).ConfigureAwait(false);
                    WorkerHostProcess running = current;
                    outcomes.Add(await DurableJobsRun.BatchAsync(client.Services, cell, jobs, running.ThrowIfExited, cancellationToken).ConfigureAwait(false));
                }
            }
            finally
            {
                await BenchmarkEngineHost.StopAsync(client).ConfigureAwait(false);
            }
        }
        finally
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        return outcomes;
    }

    /// <summary>One batch run by <paramref name="processes"/> worker processes on one hub, all up before it is submitted.</summary>
    public static async Task<RunOutcome> ScaleOutAsync(string connection, int processes, UtilisationCell cell, CancellationToken cancellationToken)
    {
        const string hub = "utilscale";
        var workers = new List<WorkerHostProcess>();
        try
        {
            // One after another: started together on 2 cores they would each take several times as long to come up.
            for (int i = 0; i < processes; i++)
            {
                workers.Add(await StartWorkerAsync(connection, hub, cancellationToken).ConfigureAwait(false));
            }

            using IHost client = await StartClientAsync(connection, hub, cancellationToken).ConfigureAwait(false);
            try
            {
                Report.Progress($"utilisation: {cell.Label}, {cell.Jobs} jobs on {processes} worker processes");
                return await DurableJobsRun.BatchAsync(client.Services, cell, cell.Jobs, () => workers.ForEach(w => w.ThrowIfExited()), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await BenchmarkEngineHost.StopAsync(client).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (WorkerHostProcess worker in workers)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static Task<WorkerHostProcess> StartWorkerAsync(string connection, string hub, CancellationToken cancellationToken) =>
        WorkerHostProcess.StartAsync(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = connection,
            ["DurableJobs__HubName"] = hub,
            ["DurableJobs__Azurite__AutoStart"] = "false",
            // Engine defaults otherwise, as a user runs it. Warnings only (an Information line per job would be noise
            // on the cores being measured); the engine's start line stays on: it is how this run knows the worker is up.
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__DurableJobs.Engine.Hosting.DurableJobsEngine"] = "Information",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["NO_COLOR"] = "1",
        }, ReadyTimeout, cancellationToken);

    private static Task<IHost> StartClientAsync(string connection, string hub, CancellationToken cancellationToken) =>
        BenchmarkEngineHost.StartAsync(connection, hub, new Dictionary<string, string?> { ["DurableJobs:RunWorker"] = "false" }, registry: null, cancellationToken);
}
