using System.Diagnostics;
using Azure.Data.Tables;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Engine.Emulator;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Orchestrators;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// End to end on Azurite, same run, same engine: no-op jobs through DurableJobs (chunked activities, channel
/// pool inside) against one activity per job, all at once (Task.WhenAll) and under a sliding window. Reports
/// jobs/s, history rows per job and this process's working set; then the real worker host as a child process through
/// two batches in a row (<see cref="HostMemoryRun"/>), which is what the working set target is about.
/// </summary>
public sealed class EngineScenario : IBenchmarkScenario
{
    private const int Cap = 50;

    public string Name => "engine";

    public string Title => "end to end on Azurite: DurableJobs vs one activity per job";

    // Needs Node.js and the pinned Azurite (npm ci), as the README's main command does; it starts and stops its own.
    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        int[] durableSizes = context.Quick ? [1_000, 10_000] : [10_000, 100_000];
        // One activity per job replays a history that grows with every job, so its cost is quadratic: 10,000 jobs
        // all at once did not finish within 16 minutes here. The baselines run 2,000 jobs and say so.
        int naiveSize = context.Quick ? 500 : 2_000;
        string data = Directory.CreateTempSubdirectory("durablejobs-bench-azurite-").FullName;
        var table = new MarkdownTable("Contender", "Jobs", "Seconds", "Jobs/s", "× naive fan-out", "History rows / job", "Result rows / job", "Peak working set (this process)", "Working set after (GC)");
        await using AzuriteProcess azurite = await AzuriteProcess.StartAsync(
            new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
            NullLogger.Instance,
            cancellationToken).ConfigureAwait(false);

        Report.Progress($"engine: naive fan-out, {naiveSize} activities");
        Measurement naive = await MeasureAsync(azurite.ConnectionString, "benchnaive", naiveSize, async (services, ct) =>
        {
            DurableTaskClient durable = services.GetRequiredService<DurableTaskClient>();
            string id = await durable.ScheduleNewOrchestrationInstanceAsync(NaiveFanOutOrchestrator.Name, naiveSize, ct).ConfigureAwait(false);
            await EchoBatch.WaitCompletedAsync(durable, id, eachPoll: null, ct).ConfigureAwait(false);
            return id;
        }, cancellationToken).ConfigureAwait(false);

        Report.Progress($"engine: sliding window, {naiveSize} activities at cap {Cap}");
        Measurement window = await MeasureAsync(azurite.ConnectionString, "benchwindow", naiveSize, async (services, ct) =>
        {
            DurableTaskClient durable = services.GetRequiredService<DurableTaskClient>();
            string id = await durable.ScheduleNewOrchestrationInstanceAsync(SlidingWindowOrchestrator.Name, new WindowInput(naiveSize, Cap), ct).ConfigureAwait(false);
            await EchoBatch.WaitCompletedAsync(durable, id, eachPoll: null, ct).ConfigureAwait(false);
            return id;
        }, cancellationToken).ConfigureAwait(false);

        var rows = new List<(string Name, Measurement M)> { ("one activity per job, Task.WhenAll", naive), ($"one activity per job, sliding window (cap {Cap})", window) };
        foreach (int size in durableSizes)
        {
            Report.Progress($"engine: DurableJobs, {size} jobs at cap {Cap}");
            Measurement ours = await MeasureAsync(azurite.ConnectionString, $"benchjobs{size}", size, async (services, ct) =>
                (await EchoBatch.RunAsync(services, size, Cap, eachPoll: null, ct).ConfigureAwait(false)).BatchId,
                cancellationToken).ConfigureAwait(false);
            rows.Add(("DurableJobs (chunks + channel pool)", ours));
        }

        double naiveRate = naive.JobsPerSecond;
        foreach ((string name, Measurement m) in rows)
        {
            table.Row(name, Fmt.Int(m.Jobs), Fmt.Decimal(m.Elapsed.TotalSeconds), Fmt.Int(m.JobsPerSecond),
                Fmt.Decimal(m.JobsPerSecond / naiveRate) + "×", Fmt.Decimal(m.HistoryRowsPerJob, "0.000"),
                Fmt.Decimal(m.ResultRowsPerJob, "0.000"), Fmt.Bytes(m.PeakWorkingSet), Fmt.Bytes(m.WorkingSetAfter));
        }

        context.Report.Line($"Azurite 3.37.0 (npm, disk mode, fresh folder), one engine in this process, cap {Cap}, no-op jobs (`echo`). " +
            $"The one-activity-per-job baselines run {Fmt.Int(naiveSize)} jobs: their history (and each replay) grows with every job, so 10,000 at once did not finish within 16 minutes here and 100,000 is out of reach.");
        context.Report.Table(table);
        context.Report.Line("Targets: ≥ 2,000 jobs/s for 100k no-op jobs; ≥ 20× the naive fan-out. The working set columns are this whole process " +
            "(BenchmarkDotNet, the client and the engine); the host's own memory is measured below.");
        await azurite.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(data, recursive: true);
        }
        catch (IOException)
        {
            // Azurite may still hold a file for a moment; the temp folder is the OS's to clean.
        }

        await ReportHostMemoryAsync(context, durableSizes[^1], cancellationToken).ConfigureAwait(false);
    }

    private static async Task ReportHostMemoryAsync(ScenarioContext context, int jobs, CancellationToken cancellationToken)
    {
        Report.Progress($"engine: host process (durablejobs serve --worker-only), 2 × {jobs} jobs at cap {Cap}");
        (HostMemoryResult host, ClusterCancelResult cancel) = await HostMemoryRun.RunAsync(jobs, Cap, context.Quick, cancellationToken).ConfigureAwait(false);
        string settle = context.Quick ? "2 s" : "10 s";
        context.Report.Heading(3, "The worker host's own memory (a separate process)");
        var table = new MarkdownTable("Host process (worker only)", "Jobs", "Seconds", "Jobs/s", "Working set");
        table.Row("idle, before batch 1", "", "", "", Fmt.Bytes(host.Idle));
        table.Row("peak during batch 1", Fmt.Int(jobs), Fmt.Decimal(host.Batch1.TotalSeconds), Fmt.Int(host.JobsPerSecond1), Fmt.Bytes(host.PeakBatch1));
        table.Row($"after batch 1 (+{settle})", "", "", "", Fmt.Bytes(host.AfterBatch1));
        table.Row("peak during batch 2", Fmt.Int(jobs), Fmt.Decimal(host.Batch2.TotalSeconds), Fmt.Int(host.JobsPerSecond2), Fmt.Bytes(host.PeakBatch2));
        table.Row($"after batch 2 (+{settle})", "", "", "", Fmt.Bytes(host.AfterBatch2));

        context.Report.Line($"The built `durablejobs serve --worker-only` (src/DurableJobs.Host, its own runtime settings) as a child process on a fresh Azurite, " +
            $"logging at Warning; this process only submits and samples the child's working set every 50 ms. Two batches of {Fmt.Int(jobs)} `echo` jobs at cap {Cap}, one after the other; " +
            $"each peak includes the {settle} after its batch; nothing forces a GC in the host.");
        context.Report.Table(table);
        context.Report.Line($"- **Host working set < {Fmt.Bytes(HostMemoryResult.TargetBytes)} through the batches: {(host.BelowTarget ? "met" : "not met")}** (highest {Fmt.Bytes(host.Highest)}).");
        context.Report.Line($"- **Flat after the batch: {(host.Flat ? "met" : "not met")}** (after batch 2 − after batch 1 = {(host.GrowthAfterBatch2 >= 0 ? "+" : "")}{Fmt.Bytes(host.GrowthAfterBatch2)}; " +
            $"flat means at most +{HostMemoryResult.FlatTolerance:P0} of after batch 1, {Fmt.Bytes(host.AfterBatch1 * HostMemoryResult.FlatTolerance)}).");
        if (context.Quick)
        {
            context.Report.Line("- Quick run: small batches, so these verdicts say little about the 100k target; run without --quick for that.");
        }

        ReportClusterCancel(context.Report, cancel);
    }

    private static void ReportClusterCancel(Report report, ClusterCancelResult cancel)
    {
        report.Heading(3, "Cluster cancel: client in this process, jobs in the host process");
        report.Line($"A batch of {Fmt.Int(Cap * 4)} `delay` jobs of 10 minutes at cap {Cap} in the worker host above; once all {Cap} slots run, this process cancels it through the client " +
            "(the signals row and the orchestration event, as the HTTP API does). Stopped = the client's cancel call → the job's recorded finish, for every job that was running; " +
            "the host learns of the cancel only through storage (it polls the signals table every 0.5 s).");
        var table = new MarkdownTable("Running jobs", "Stopped p50", "p99", "max", "Target max < 1 s", "Never started (recorded Cancelled)", "Not Cancelled", "Batch final", "Cancel → batch final");
        bool any = cancel.StoppedMs.Count > 0;
        table.Row(
            Fmt.Int(cancel.StoppedMs.Count),
            any ? Fmt.Ms(cancel.Spread.At(0.5)) : "n/a", any ? Fmt.Ms(cancel.Spread.At(0.99)) : "n/a", any ? Fmt.Ms(cancel.Spread.Max) : "n/a",
            cancel.Met ? "met" : "missed",
            Fmt.Int(cancel.NotStarted), Fmt.Int(cancel.NotCancelled), cancel.FinalStatus, Fmt.Ms(cancel.BatchFinishedMs));
        report.Table(table);
    }

    private static async Task<Measurement> MeasureAsync(string connection, string hub, int jobs, Func<IServiceProvider, CancellationToken, Task<string>> run, CancellationToken cancellationToken)
    {
        var registry = new DurableTaskRegistry();
        registry.AddOrchestrator<BatchOrchestrator>(BatchNames.Orchestrator);
        registry.AddOrchestrator<BatchOrchestrator>(BatchNames.PartOrchestrator);
        registry.AddActivity<ExecuteJobsActivity>(BatchNames.ExecuteJobsActivity);
        registry.AddActivity<RecordUnstartedActivity>(BatchNames.RecordUnstartedActivity);
        registry.AddOrchestrator<NaiveFanOutOrchestrator>(NaiveFanOutOrchestrator.Name);
        registry.AddOrchestrator<SlidingWindowOrchestrator>(SlidingWindowOrchestrator.Name);
        registry.AddActivity<NoOpJobActivity>(NoOpJobActivity.Name);
        var settings = new Dictionary<string, string?> { ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.5" };
        using IHost host = await BenchmarkEngineHost.StartAsync(connection, hub, settings, registry, cancellationToken).ConfigureAwait(false);
        try
        {
            GC.Collect();
            using var sampler = new WorkingSetSampler();
            var clock = Stopwatch.StartNew();
            string instanceId = await run(host.Services, cancellationToken).ConfigureAwait(false);
            clock.Stop();
            long peak = sampler.Stop();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long after = Environment.WorkingSet;
            (int history, int results) = await CountRowsAsync(connection, hub, instanceId, cancellationToken).ConfigureAwait(false);
            return new Measurement(jobs, clock.Elapsed, history / (double)jobs, results / (double)jobs, peak, after);
        }
        finally
        {
            await BenchmarkEngineHost.StopAsync(host).ConfigureAwait(false);
        }
    }

    private static async Task<(int History, int Results)> CountRowsAsync(string connection, string hub, string instanceId, CancellationToken cancellationToken)
    {
        int history = 0;
        var historyTable = new TableClient(connection, $"{hub}History");
        // A large batch runs as parts ("{id}:part-NNNN"): their histories count too. ':' sorts just below ';'.
        string historyFilter = TableClient.CreateQueryFilter($"PartitionKey ge {instanceId} and PartitionKey lt {instanceId + ";"}");
        await foreach (TableEntity _ in historyTable.QueryAsync<TableEntity>(historyFilter, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            history++;
        }

        int results = 0;
        var resultsTable = new TableClient(connection, $"{hub}Results");
        try
        {
            await foreach (TableEntity _ in resultsTable.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {instanceId}"), select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                results++;
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // The baselines write no results table.
        }

        return (history, results);
    }

    private sealed record Measurement(int Jobs, TimeSpan Elapsed, double HistoryRowsPerJob, double ResultRowsPerJob, long PeakWorkingSet, long WorkingSetAfter)
    {
        public double JobsPerSecond => Jobs / Elapsed.TotalSeconds;
    }
}
