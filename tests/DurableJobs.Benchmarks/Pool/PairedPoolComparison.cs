using System.Diagnostics;
using System.Globalization;
using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Pool;

/// <summary>
/// The pool against <c>Parallel.ForEachAsync</c> measured in rounds: each round runs the baseline and both
/// pool modes back to back (rotating the order) and yields one ratio per mode; the table reports the median
/// ratio and its spread.
/// </summary>
/// <remarks>
/// BenchmarkDotNet runs all iterations of one case before the next, so on a shared machine a burst of load
/// from elsewhere lands on one contender and moves the ratio by ±50 %. A pair shares its few hundred
/// milliseconds of machine state, so the median of per-round ratios is what the pool-vs-baseline verdict is
/// read from; the BenchmarkDotNet table stays for absolute rates and allocations.
/// </remarks>
public static class PairedPoolComparison
{
    /// <summary>Runs <paramref name="rounds"/> rounds for every workload and parallelism and writes the table.</summary>
    public static async Task WriteAsync(Report report, int rounds, double target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        string targetText = target.ToString("0.00", CultureInfo.InvariantCulture);
        var table = new MarkdownTable(
            "Workload", "Parallelism", "Items", "Rounds",
            "ForEachAsync / PFE (median)", "ForEachAsync p25–p75", "ForEachAsync faster in", $"Target ≥ {targetText}",
            "Streaming / PFE (median)", "Streaming p25–p75", "Streaming faster in");
        foreach (Workload workload in PoolBenchmarkSizes.Workloads)
        {
            foreach (int parallelism in PoolBenchmarkSizes.Parallelism)
            {
                foreach (int items in PoolBenchmarkSizes.Items)
                {
                    Report.Progress($"pool: paired rounds, {workload} at {parallelism}");
                    var benchmarks = new PoolBenchmarks { Workload = workload, Parallelism = parallelism, Items = items };
                    benchmarks.Setup();
                    Func<Task<long>>[] contenders = [benchmarks.ParallelForEachAsync, benchmarks.ChannelWorkerPoolForEach, benchmarks.ChannelWorkerPool];

                    // Warm every path (JIT tiers, thread pool) before anything is counted.
                    for (int i = 0; i < 3; i++)
                    {
                        foreach (Func<Task<long>> contender in contenders)
                        {
                            await contender().ConfigureAwait(false);
                        }
                    }

                    var forEachRatios = new List<double>(rounds);
                    var streamingRatios = new List<double>(rounds);
                    var seconds = new double[contenders.Length];
                    for (int round = 0; round < rounds; round++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();

                        // Rotate who goes first, so no contender always inherits the others' garbage or warm caches.
                        for (int step = 0; step < contenders.Length; step++)
                        {
                            int which = (round + step) % contenders.Length;
                            seconds[which] = await TimeAsync(contenders[which]).ConfigureAwait(false);
                        }

                        // Items/s ratio = baseline time ÷ pool time.
                        forEachRatios.Add(seconds[0] / seconds[1]);
                        streamingRatios.Add(seconds[0] / seconds[2]);
                    }

                    var forEach = new Percentiles(forEachRatios);
                    var streaming = new Percentiles(streamingRatios);
                    table.Row(
                        workload.ToString(), parallelism.ToString(CultureInfo.InvariantCulture), Fmt.Int(items), rounds.ToString(CultureInfo.InvariantCulture),
                        Fmt.Ratio(forEach.At(0.5)), Spread(forEach), $"{forEachRatios.Count(r => r > 1)} of {rounds}",
                        forEach.At(0.5) >= target ? "met" : "missed",
                        Fmt.Ratio(streaming.At(0.5)), Spread(streaming), $"{streamingRatios.Count(r => r > 1)} of {rounds}");
                }
            }
        }

        report.Line("Each round runs Parallel.ForEachAsync, the pool's ForEachAsync and the streaming pool back to back (who goes first rotates) on the same items and handler; a ratio is the baseline's time ÷ the pool's, i.e. the pool's items/s ÷ the baseline's.");
        report.Line("The median of the per-round ratios is robust to load from other processes, which a whole-case-at-a-time BenchmarkDotNet run is not on a shared machine. The target compares like with like: ForEachAsync, which, like the baseline, returns no results.");
        report.Line();
        report.Table(table);
    }

    private static string Spread(Percentiles ratios) => $"{Fmt.Ratio(ratios.At(0.25))}–{Fmt.Ratio(ratios.At(0.75))}";

    private static async Task<double> TimeAsync(Func<Task<long>> operation)
    {
        long start = Stopwatch.GetTimestamp();
        await operation().ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
