using System.Globalization;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Benchmarks.Engine;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Engine.Emulator;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Orchestrators;
using Microsoft.DurableTask;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// Issue 14's grid: jobs that take time (10 ms, 100 ms, 1 s) at caps 10, 100 and 1,000, and how much of the physical
/// limit (cap ÷ duration jobs/s) each system holds: DurableJobs in a warm host and in a fresh process, the
/// one-activity-per-job sliding window, Hangfire on PostgreSQL and in memory, and <c>Parallel.ForEachAsync</c> (the
/// ceiling on this machine); then one batch spread over four worker processes. Every number comes from the jobs' own
/// start and finish times (<see cref="UtilisationStats"/>), so it measures whatever engine this branch builds.
/// </summary>
public sealed class UtilisationScenario : IBenchmarkScenario
{
    /// <summary>Names a subset of the grid, full size: e.g. <c>100ms/10,1s/100</c>.</summary>
    public const string CellsVariable = "DURABLEJOBS_UTILISATION_CELLS";

    /// <summary>When set, each run also prints its jobs in flight per 100 ms at its start and end (where slots idled).</summary>
    public const string ProfileVariable = "DURABLEJOBS_UTILISATION_PROFILE";

    private const string Warm = "DurableJobs, warm host";
    private const string Fresh = "DurableJobs, fresh process";
    private const string Window = "sliding window, 1 activity per job";
    private const string HangfirePostgres = "Hangfire, PostgreSQL";
    private const string HangfireMemory = "Hangfire, in-memory";
    private const string ParallelForEach = "Parallel.ForEachAsync";

    // One activity per job replays a history that grows with every job (quadratic), and Hangfire on PostgreSQL runs
    // ~100-200 jobs/s here: both run at most this many jobs of a cell (fewer in a quick run, where they took most of
    // the time), and the table says how many they ran.
    private const int WindowMaxJobs = 2_000;
    private const int QuickWindowMaxJobs = 500;
    private const int HangfirePostgresMaxJobs = 3_000;
    private const int QuickHangfirePostgresMaxJobs = 1_000;
    private const int HangfireMemoryMaxJobs = 30_000;

    private const int ScaleOutProcesses = 4;
    private const int ScaleOutCap = 400;

    public string Name => "utilisation";

    public string Title => "jobs that take time: share of the physical limit cap ÷ duration, DurableJobs against its peers";

    // Needs Node.js and the pinned Azurite, as the engine scenario does; PostgreSQL is optional (its row says when it is missing).
    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        IReadOnlyList<UtilisationCell> cells = Cells(context.Quick);
        UtilisationCell scaleOut = context.Quick
            ? new UtilisationCell(TimeSpan.FromSeconds(1), ScaleOutCap, 800)
            : UtilisationCell.Full(TimeSpan.FromSeconds(1), ScaleOutCap);
        var results = new List<SystemResult>();
        RunOutcome scaleOutOutcome;

        string data = Directory.CreateTempSubdirectory("durablejobs-bench-util-azurite-").FullName;
        try
        {
            await using (AzuriteProcess azurite = await AzuriteProcess.StartAsync(
                new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
                NullLogger.Instance,
                cancellationToken).ConfigureAwait(false))
            {
                await RunWarmAsync(azurite.ConnectionString, cells, context.Quick ? QuickWindowMaxJobs : WindowMaxJobs, results, cancellationToken).ConfigureAwait(false);
                IReadOnlyList<RunOutcome> fresh = await ProcessRuns.FreshAsync(azurite.ConnectionString, [.. cells.Select(c => (c, c.Jobs))], cancellationToken).ConfigureAwait(false);
                results.AddRange(cells.Select((c, i) => SystemResult.Of(Fresh, c, fresh[i])));
                scaleOutOutcome = await ProcessRuns.ScaleOutAsync(azurite.ConnectionString, ScaleOutProcesses, scaleOut, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            TryDelete(data);
        }

        foreach (UtilisationCell cell in cells)
        {
            int jobs = Math.Min(cell.Jobs, HangfireMemoryMaxJobs);
            Report.Progress($"utilisation: {cell.Label}, {jobs} jobs, Hangfire in-memory");
            results.Add(await PeerAsync(HangfireMemory, cell, () => HangfireRun.InMemoryAsync(cell, jobs, cancellationToken)).ConfigureAwait(false));
        }

        await RunHangfirePostgresAsync(cells, context.Quick ? QuickHangfirePostgresMaxJobs : HangfirePostgresMaxJobs, results, cancellationToken).ConfigureAwait(false);

        foreach (UtilisationCell cell in cells)
        {
            Report.Progress($"utilisation: {cell.Label}, {cell.Jobs} jobs, Parallel.ForEachAsync");
            results.Add(SystemResult.Of(ParallelForEach, cell, await RunParallelAsync(cell, cancellationToken).ConfigureAwait(false)));
        }

        Write(context, cells, results, scaleOut, scaleOutOutcome);
    }

    private static IReadOnlyList<UtilisationCell> Cells(bool quick)
    {
        if (Environment.GetEnvironmentVariable(CellsVariable) is { Length: > 0 } chosen)
        {
            return UtilisationCell.Parse(chosen);
        }

        if (quick)
        {
            // Two cells at small sizes (1-2 s at the limit), both at or below 2,000 jobs/s where the 90 % target applies.
            return [new UtilisationCell(TimeSpan.FromMilliseconds(10), 10, 1_000), new UtilisationCell(TimeSpan.FromMilliseconds(100), 100, 2_000)];
        }

        int[] caps = [10, 100, 1_000];
        TimeSpan[] durations = [TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)];
        return [.. durations.SelectMany(d => caps.Select(c => UtilisationCell.Full(d, c)))];
    }

    private static async Task RunWarmAsync(string connection, IReadOnlyList<UtilisationCell> cells, int windowMaxJobs, List<SystemResult> results, CancellationToken cancellationToken)
    {
        var registry = new DurableTaskRegistry();
        registry.AddOrchestrator<BatchOrchestrator>(BatchNames.Orchestrator);
        registry.AddOrchestrator<BatchOrchestrator>(BatchNames.PartOrchestrator);
        registry.AddActivity<ExecuteJobsActivity>(BatchNames.ExecuteJobsActivity);
        registry.AddActivity<RecordUnstartedActivity>(BatchNames.RecordUnstartedActivity);
        registry.AddOrchestrator<SlidingWindowOrchestrator>(SlidingWindowOrchestrator.Name);
        registry.AddActivity<DelayJobActivity>(DelayJobActivity.Name);
        // Engine defaults, as a user runs it.
        using IHost host = await BenchmarkEngineHost.StartAsync(connection, "utilwarm", new Dictionary<string, string?>(), registry, cancellationToken).ConfigureAwait(false);
        try
        {
            // Warm-up (JIT, tables, leases), not reported.
            Report.Progress("utilisation: warm-up batch and window");
            var warmUp = new UtilisationCell(TimeSpan.FromMilliseconds(10), 10, 200);
            await DurableJobsRun.BatchAsync(host.Services, warmUp, warmUp.Jobs, eachPoll: null, cancellationToken).ConfigureAwait(false);
            await DurableJobsRun.SlidingWindowAsync(host.Services, warmUp, 50, cancellationToken).ConfigureAwait(false);

            foreach (UtilisationCell cell in cells)
            {
                Report.Progress($"utilisation: {cell.Label}, {cell.Jobs} jobs, DurableJobs in a warm host");
                results.Add(SystemResult.Of(Warm, cell, await DurableJobsRun.BatchAsync(host.Services, cell, cell.Jobs, eachPoll: null, cancellationToken).ConfigureAwait(false)));
                int windowJobs = Math.Min(cell.Jobs, windowMaxJobs);
                Report.Progress($"utilisation: {cell.Label}, {windowJobs} jobs, sliding window");
                results.Add(SystemResult.Of(Window, cell, await DurableJobsRun.SlidingWindowAsync(host.Services, cell, windowJobs, cancellationToken).ConfigureAwait(false)));
            }
        }
        finally
        {
            await BenchmarkEngineHost.StopAsync(host).ConfigureAwait(false);
        }
    }

    private static async Task RunHangfirePostgresAsync(IReadOnlyList<UtilisationCell> cells, int maxJobs, List<SystemResult> results, CancellationToken cancellationToken)
    {
        string? binaries = PostgresCluster.FindBinaries();
        if (PostgresCluster.WhyNotAvailable(binaries) is { } why)
        {
            results.AddRange(cells.Select(c => SystemResult.NotRun(HangfirePostgres, c, "not run: " + why)));
            return;
        }

        Report.Progress("utilisation: starting PostgreSQL");
        int maxPool = cells.Max(c => Math.Min(200, c.Cap + 20));
        await using PostgresCluster cluster = await PostgresCluster.StartAsync(binaries!, maxConnections: maxPool + 50, cancellationToken).ConfigureAwait(false);
        for (int i = 0; i < cells.Count; i++)
        {
            UtilisationCell cell = cells[i];
            int jobs = Math.Min(cell.Jobs, maxJobs);
            Report.Progress($"utilisation: {cell.Label}, {jobs} jobs, Hangfire on PostgreSQL");
            results.Add(await PeerAsync(HangfirePostgres, cell, () => HangfireRun.PostgreSqlAsync(cluster, $"hangfire_{i}", cell, jobs, cancellationToken)).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// A peer's run of one cell. A peer that stalls (Hangfire on PostgreSQL ran 1,277 of 3,000 10 ms jobs at 1,000 workers
    /// in its minute) gets a row saying so instead of ending the scenario: the full grid ran 40 minutes to that cell and
    /// printed nothing.
    /// </summary>
    private static async Task<SystemResult> PeerAsync(string system, UtilisationCell cell, Func<Task<RunOutcome>> run)
    {
        try
        {
            return SystemResult.Of(system, cell, await run().ConfigureAwait(false));
        }
        catch (TimeoutException ex)
        {
            Report.Progress($"utilisation: {cell.Label}, {system}: {ex.Message}");
            return SystemResult.NotRun(system, cell, "did not finish: " + ex.Message);
        }
    }

    private static async Task<RunOutcome> RunParallelAsync(UtilisationCell cell, CancellationToken cancellationToken)
    {
        InProcessSpans.Take();
        DateTimeOffset submitted = DateTimeOffset.UtcNow;
        await Parallel.ForEachAsync(Enumerable.Range(0, cell.Jobs), new ParallelOptions { MaxDegreeOfParallelism = cell.Cap, CancellationToken = cancellationToken }, async (_, ct) =>
        {
            DateTimeOffset started = DateTimeOffset.UtcNow;
            // The delay job's own wait, so the ceiling waits as precisely as the jobs it is the ceiling of.
            await PreciseDelay.Shared.WaitAsync(cell.Duration, ct).ConfigureAwait(false);
            InProcessSpans.Record(started, DateTimeOffset.UtcNow);
        }).ConfigureAwait(false);
        return new RunOutcome(InProcessSpans.Take(), submitted, DateTimeOffset.UtcNow, Workers: null);
    }

    private static void Write(ScenarioContext context, IReadOnlyList<UtilisationCell> cells, List<SystemResult> results, UtilisationCell scaleOut, RunOutcome scaleOutOutcome)
    {
        Report report = context.Report;
        report.Line($"`delay` jobs (`{{\"ms\": d}}`) at each cap, the engine's default settings, Azurite 3.37.0 in a fresh folder; every system's jobs record their own start and finish. " +
            "Limit = cap ÷ duration, the most jobs/s any system can run. Jobs/s = jobs ÷ (last finish − first start); share = jobs/s ÷ limit. " +
            $"Mean in flight ÷ cap: time-weighted over the steady part, the span without its first and last {UtilisationStats.TrimmedShare:P0}. " +
            "Peak above the cap would mean the cap was broken. Mean job: finish − start, against the nominal duration (every system waits precisely: DurableJobs' `delay`, the sliding window and Parallel.ForEachAsync on one thread's monitor wait, Hangfire with Thread.Sleep; what is above d is each system's own per-job cost and wake-up). Submit → first start: from the submit call (Hangfire: from its server's start, its jobs enqueued before; " +
            "Parallel.ForEachAsync: from the call) to the earliest job start. Last finish → final: to the batch's recorded completion (none for Hangfire).");
        if (context.Quick)
        {
            report.Line("Quick run: two cells at small sizes (1-2 s at the limit), so ramp-up and the last round trip weigh far more than in a full run; the numbers are rough.");
        }

        report.Line($"Warm host: one engine in this process, after a warm-up batch. Fresh process: `durablejobs serve --worker-only` started right after the previous worker process on the hub " +
            $"stopped (SIGTERM), the batch submitted as soon as it reported it was up. Sliding window: at most {Fmt.Int(context.Quick ? QuickWindowMaxJobs : WindowMaxJobs)} jobs (its history grows with every job); " +
            $"Hangfire 1.8.25: jobs enqueued first from 8 threads, then a server with workers = cap, at most {Fmt.Int(context.Quick ? QuickHangfirePostgresMaxJobs : HangfirePostgresMaxJobs)} jobs on PostgreSQL (a cluster started by the benchmark, durable defaults, " +
            "a pool of cap + 20 connections, at most 200) " +
            $"and {Fmt.Int(HangfireMemoryMaxJobs)} in memory (not durable: its engine's upper bound).");

        var grid = new MarkdownTable("Cell", "System", "Jobs", "Limit (jobs/s)", "Jobs/s", "Share of limit", "Mean in flight ÷ cap", "Peak in flight", "Mean job", "Submit → first start", "Last finish → final");
        foreach (UtilisationCell cell in cells)
        {
            foreach (SystemResult r in results.Where(r => r.Cell == cell).OrderBy(r => Order(r.System)))
            {
                if (r.Stats is not { } s || r.Outcome is not { } o)
                {
                    grid.Row(cell.Label, r.System, "", Fmt.Int(cell.LimitPerSecond), r.Note ?? "", "", "", "", "", "", "");
                    continue;
                }

                grid.Row(cell.Label, r.System, Fmt.Int(s.Jobs), Fmt.Int(cell.LimitPerSecond), Fmt.Int(s.JobsPerSecond), Fmt.Decimal(s.ShareOfLimit, "0.00"),
                    Fmt.Decimal(s.MeanInFlightOverCap, "0.00"), Fmt.Int(s.PeakInFlight), Fmt.Ms(s.MeanJobLength.TotalMilliseconds), Fmt.Ms(o.SubmitToFirstStart.TotalMilliseconds),
                    o.LastFinishToFinal is { } f ? Fmt.Ms(f.TotalMilliseconds) : "n/a");
            }
        }

        report.Table(grid);
        WriteTargets(report, cells, results);
        WriteScaleOut(report, scaleOut, scaleOutOutcome);
    }

    private static void WriteTargets(Report report, IReadOnlyList<UtilisationCell> cells, List<SystemResult> results)
    {
        report.Heading(3, "Targets (issue 14; reported, not asserted)");
        var table = new MarkdownTable("Cell", "Limit (jobs/s)", "≥ 90 % of limit, warm", "≥ 90 %, fresh", "Sliding window share", "≥ 5× the window where it is < 50 %", "Ahead of Hangfire in-memory");
        foreach (UtilisationCell cell in cells)
        {
            UtilisationStats? warm = Find(results, Warm, cell);
            UtilisationStats? fresh = Find(results, Fresh, cell);
            UtilisationStats? window = Find(results, Window, cell);
            UtilisationStats? memory = Find(results, HangfireMemory, cell);
            bool applies = cell.LimitPerSecond <= 2_000;
            table.Row(cell.Label, Fmt.Int(cell.LimitPerSecond),
                ShareVerdict(warm, applies), ShareVerdict(fresh, applies),
                window is null ? "n/a" : Fmt.Decimal(window.ShareOfLimit, "0.00"),
                window is null || warm is null ? "n/a"
                    : window.ShareOfLimit >= 0.5 ? $"does not apply ({Fmt.Ratio(warm.JobsPerSecond / window.JobsPerSecond)})"
                    : Verdict(warm.JobsPerSecond >= 5 * window.JobsPerSecond, Fmt.Ratio(warm.JobsPerSecond / window.JobsPerSecond)),
                memory is null || warm is null ? "n/a" : Verdict(warm.JobsPerSecond > memory.JobsPerSecond, Fmt.Ratio(warm.JobsPerSecond / memory.JobsPerSecond) + " its jobs/s"));
        }

        report.Table(table);
        foreach (string system in new[] { Warm, Fresh })
        {
            double[] firstStarts = [.. results.Where(r => r.System == system && r.Outcome is not null).Select(r => r.Outcome!.SubmitToFirstStart.TotalMilliseconds)];
            if (firstStarts.Length > 0)
            {
                double p50 = new Percentiles(firstStarts).At(0.5);
                report.Line($"- **{system}: submit → first job started p50 < 500 ms: {(p50 < 500 ? "met" : "missed")}** (p50 {Fmt.Ms(p50)} over {firstStarts.Length} cells).");
            }
        }

        SystemResult[] ours = [.. results.Where(r => r.System is Warm or Fresh && r.Stats is not null)];
        SystemResult[] broken = [.. ours.Where(r => r.Stats!.PeakInFlight > r.Cell.Cap)];
        report.Line($"- **The cap held (no instant with more than the cap running, from the job timestamps) in every DurableJobs run: {(broken.Length == 0 ? "met" : "missed")}** " +
            (broken.Length == 0
                ? $"({ours.Length} runs)."
                : "(" + string.Join("; ", broken.Select(r => $"{r.System}, {r.Cell.Label}: peak {Fmt.Int(r.Stats!.PeakInFlight)}")) + ")."));
        report.Line("- Cells above 2,000 jobs/s have no share target (the 90 % applies where cap ÷ duration ≤ 2,000 jobs/s); the 100,000-job batch limit also keeps " +
            "some of them shorter than 10 s at the limit. The no-op and host-memory targets are the engine scenario's.");
    }

    private static void WriteScaleOut(Report report, UtilisationCell cell, RunOutcome outcome)
    {
        report.Heading(3, $"Scale-out: one batch on {ScaleOutProcesses} worker processes");
        UtilisationStats s = UtilisationStats.From(outcome.Spans, cell.Cap, cell.Duration);
        report.Line($"{Fmt.Int(cell.Jobs)} `delay` jobs of {cell.Label}, {ScaleOutProcesses} `durablejobs serve --worker-only` processes on one hub, all up before the submit; " +
            "each job's `worker` field says which process ran it. Every process running a share is the target.");
        var table = new MarkdownTable("Jobs", "Limit (jobs/s)", "Jobs/s", "Share of limit", "Mean in flight ÷ cap", "Peak in flight", "Processes that ran jobs", "Jobs per process");
        IReadOnlyDictionary<string, int> workers = outcome.Workers ?? new Dictionary<string, int>();
        table.Row(Fmt.Int(s.Jobs), Fmt.Int(cell.LimitPerSecond), Fmt.Int(s.JobsPerSecond), Fmt.Decimal(s.ShareOfLimit, "0.00"), Fmt.Decimal(s.MeanInFlightOverCap, "0.00"),
            Fmt.Int(s.PeakInFlight), $"{workers.Count} of {ScaleOutProcesses}",
            string.Join(", ", workers.Values.OrderByDescending(n => n).Select(n => Fmt.Decimal(100.0 * n / s.Jobs, "0") + " %")));
        report.Table(table);
        report.Line($"- **Every one of the {ScaleOutProcesses} processes ran a share: {(workers.Count >= ScaleOutProcesses ? "met" : "missed")}.**");
        report.Line($"- **The cap held across the processes: {(s.PeakInFlight <= cell.Cap ? "met" : "missed")}** (peak {Fmt.Int(s.PeakInFlight)} of {Fmt.Int(cell.Cap)}).");
    }

    private static string ShareVerdict(UtilisationStats? stats, bool applies) => stats is null
        ? "n/a"
        : applies ? Verdict(stats.ShareOfLimit >= 0.90, Fmt.Decimal(stats.ShareOfLimit, "0.00")) : $"no target ({Fmt.Decimal(stats.ShareOfLimit, "0.00")})";

    private static string Verdict(bool met, string value) => (met ? "met" : "missed") + " (" + value + ")";

    private static UtilisationStats? Find(List<SystemResult> results, string system, UtilisationCell cell) =>
        results.FirstOrDefault(r => r.System == system && r.Cell == cell)?.Stats;

    private static int Order(string system) => Array.IndexOf([Warm, Fresh, Window, HangfirePostgres, HangfireMemory, ParallelForEach], system);

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Azurite may still hold a file for a moment; the temp folder is the OS's to clean.
        }
    }

    /// <summary>One system's run of one cell, or why it did not run.</summary>
    private sealed record SystemResult(string System, UtilisationCell Cell, RunOutcome? Outcome, UtilisationStats? Stats, string? Note)
    {
        public static SystemResult Of(string system, UtilisationCell cell, RunOutcome outcome)
        {
            if (Environment.GetEnvironmentVariable(ProfileVariable) is { Length: > 0 })
            {
                Report.Progress($"utilisation: {cell.Label}, {system}: {Profile(outcome.Spans)}");
            }

            return new(system, cell, outcome, UtilisationStats.From(outcome.Spans, cell.Cap, cell.Duration), null);
        }

        /// <summary>
        /// Mean jobs in flight per 100 ms over the first 2 s and the last 1 and 3 s of a run, and when the first jobs started
        /// and the last ones finished: where the slots idled.
        /// </summary>
        private static string Profile(IReadOnlyList<JobSpan> spans)
        {
            DateTimeOffset first = spans.Min(s => s.StartedAt);
            DateTimeOffset last = spans.Max(s => s.FinishedAt);
            string Buckets(DateTimeOffset from, int count) => string.Join(" ", Enumerable.Range(0, count).Select(i =>
                UtilisationStats.MeanInFlight(spans, from.AddMilliseconds(i * 100), from.AddMilliseconds((i + 1) * 100)).ToString("0", CultureInfo.InvariantCulture)));
            string Offsets(IEnumerable<DateTimeOffset> times) => string.Join(" ", times.Select(t => (t - first).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)));
            return $"span {(last - first).TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s, in flight per 100 ms: first 2 s [{Buckets(first, 20)}], last 1 s [{Buckets(last.AddSeconds(-1), 10)}], last 3 s [{Buckets(last.AddSeconds(-3), 30)}]; " +
                $"first 40 starts, ms after the first [{Offsets(spans.Select(s => s.StartedAt).Order().Take(40))}]; last 40 finishes [{Offsets(spans.Select(s => s.FinishedAt).Order().TakeLast(40))}]";
        }

        public static SystemResult NotRun(string system, UtilisationCell cell, string why) => new(system, cell, null, null, why);
    }
}
