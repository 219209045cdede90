using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Core.Pool;

namespace DurableJobs.Benchmarks.Pool;

/// <summary>
/// Items/s and allocations per item of <see cref="ChannelWorkerPool{TIn, TOut}"/> against
/// <c>Parallel.ForEachAsync</c> and <c>Task.WhenAll</c> fan-outs, with BenchmarkDotNet, in this process.
/// </summary>
public sealed class PoolThroughputScenario : IBenchmarkScenario
{
    private const double Target = 0.95;

    // Odd, so the median is one observed round.
    private const int PairedRounds = 21;

    public string Name => "pool";

    public string Title => "pool throughput vs Parallel.ForEachAsync and Task.WhenAll (BenchmarkDotNet)";

    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        Report report = context.Report;
        if (context.Quick)
        {
            PoolBenchmarkSizes.Items = [20_000];
        }

        // In-process: no generated project to build per run (slow, and fragile with central package
        // versions); the price is that the benchmarks share this process's GC and JIT settings.
        Job job = context.Quick
            ? new Job("Quick").WithWarmupCount(1).WithIterationCount(3).WithInvocationCount(1).WithUnrollFactor(1)
            // One operation (100,000 items) takes 20-150 ms, so each is timed on its own: unrolling several per
            // measurement only helps nanosecond benchmarks, and here it skewed one case (see docs/benchmarks.md).
            : new Job("Full").WithWarmupCount(5).WithIterationCount(20).WithInvocationCount(1).WithUnrollFactor(1);
        ManualConfig config = ManualConfig.CreateEmpty()
            .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(context.Settings.Verbose ? ConsoleLogger.Default : NullLogger.Instance)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "DurableJobs.Benchmarks.Artifacts"));
        if (!MachineInfo.IsOptimized(typeof(PoolBenchmarks).Assembly))
        {
            // The header already flags the numbers; a smoke run of a Debug build should still run.
            config = config.WithOptions(ConfigOptions.DisableOptimizationsValidator);
        }

        Report.Progress($"BenchmarkDotNet: {PoolBenchmarkSizes.Workloads.Length * PoolBenchmarkSizes.Parallelism.Length * 5} cases, {job.Id} job ...");
        Summary summary = BenchmarkRunner.Run<PoolBenchmarks>(config);
        cancellationToken.ThrowIfCancellationRequested();

        foreach (var error in summary.ValidationErrors.Where(e => e.IsCritical))
        {
            report.Line($"> BenchmarkDotNet validation: {error.Message}");
        }

        WriteThroughputTable(report, summary);

        report.Heading(3, "Pool vs Parallel.ForEachAsync in interleaved rounds (the verdict)");
        await PairedPoolComparison.WriteAsync(report, context.Quick ? 3 : PairedRounds, Target, cancellationToken).ConfigureAwait(false);

        report.Heading(3, "BenchmarkDotNet summary (Mean is per operation = all items; Ratio is against Parallel.ForEachAsync)");
        MarkdownExporter.GitHub.ExportToLog(summary, new ReportLogger(report));
    }

    private static void WriteThroughputTable(Report report, Summary summary)
    {
        var cells = summary.Reports
            .Where(r => r.ResultStatistics is not null)
            .Select(r => new
            {
                Method = r.BenchmarkCase.Descriptor.WorkloadMethod.Name,
                Workload = (Workload)r.BenchmarkCase.Parameters[nameof(PoolBenchmarks.Workload)]!,
                Parallelism = (int)r.BenchmarkCase.Parameters[nameof(PoolBenchmarks.Parallelism)]!,
                Items = (int)r.BenchmarkCase.Parameters[nameof(PoolBenchmarks.Items)]!,
                MeanNs = r.ResultStatistics!.Mean,
                Bytes = r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase),
            })
            .ToList();

        var table = new MarkdownTable(
            "Workload", "Parallelism", "Items",
            "Pool ForEachAsync items/s", "Pool streaming items/s", "Parallel.ForEachAsync items/s", "WhenAll unbounded items/s", "WhenAll+semaphore items/s",
            "ForEachAsync / PFE", "Streaming / PFE",
            "Alloc/item: ForEachAsync", "streaming", "PFE", "WhenAll", "WhenAll+sem");
        foreach (var group in cells.GroupBy(c => (c.Workload, c.Parallelism, c.Items)).OrderBy(g => g.Key.Workload).ThenBy(g => g.Key.Parallelism))
        {
            double Rate(string method) => group.FirstOrDefault(c => c.Method == method) is { } c ? c.Items / (c.MeanNs / 1e9) : double.NaN;
            string Alloc(string method) => group.FirstOrDefault(c => c.Method == method) is { Bytes: { } b } c
                ? Fmt.Decimal((double)b / c.Items) + " B"
                : "n/a";

            double forEach = Rate(nameof(PoolBenchmarks.ChannelWorkerPoolForEach));
            double streaming = Rate(nameof(PoolBenchmarks.ChannelWorkerPool));
            double baseline = Rate(nameof(PoolBenchmarks.ParallelForEachAsync));
            table.Row(
                group.Key.Workload.ToString(), group.Key.Parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture), Fmt.Int(group.Key.Items),
                Fmt.Int(forEach), Fmt.Int(streaming), Fmt.Int(baseline),
                Fmt.Int(Rate(nameof(PoolBenchmarks.WhenAllUnbounded))), Fmt.Int(Rate(nameof(PoolBenchmarks.WhenAllSemaphore))),
                Fmt.Ratio(forEach / baseline), Fmt.Ratio(streaming / baseline),
                Alloc(nameof(PoolBenchmarks.ChannelWorkerPoolForEach)), Alloc(nameof(PoolBenchmarks.ChannelWorkerPool)), Alloc(nameof(PoolBenchmarks.ParallelForEachAsync)),
                Alloc(nameof(PoolBenchmarks.WhenAllUnbounded)), Alloc(nameof(PoolBenchmarks.WhenAllSemaphore)));
        }

        report.Line("Items/s = items ÷ BenchmarkDotNet's mean time of one operation; allocations are MemoryDiagnoser's bytes per operation ÷ items.");
        report.Line("Pool ForEachAsync = `WorkerPool.ForEachAsync` (no results channel; sums in the handler, like the baseline). Pool streaming = `ChannelWorkerPool` with every result read back through its bounded results channel. Both default options.");
        report.Line("All contenders run the same handler; Parallelism is the worker count, MaxDegreeOfParallelism or semaphore size (unbounded WhenAll ignores it).");
        report.Line("On a shared machine a whole-case-at-a-time run moves these ratios by tens of percent: the verdict is read from the paired table below.");
        report.Line();
        report.Table(table);
    }
}
