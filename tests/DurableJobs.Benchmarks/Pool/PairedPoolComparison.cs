using System.Diagnostics;
using System.Globalization;
using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Pool;

/// <summary>
/// The pool against <c>Parallel.ForEachAsync</c> measured in pairs: each round runs both back to back (in
/// alternating order) and yields one ratio, and the table reports the median ratio and its spread.
/// </summary>
/// <remarks>
/// BenchmarkDotNet runs all iterations of one case before the next, so on a shared machine a burst of load
/// from elsewhere lands on one contender and moves the ratio by ±50 %. A pair shares its few hundred
/// milliseconds of machine state, so the median of per-round ratios is what the pool-vs-baseline verdict is
/// read from; the BenchmarkDotNet table stays for absolute rates and allocations.
/// </remarks>
public static class PairedPoolComparison
{
    /// <summary>Runs <paramref name="rounds"/> pairs for every workload and parallelism and writes the table.</summary>
    public static async Task WriteAsync(Report report, int rounds, double target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var table = new MarkdownTable("Workload", "Parallelism", "Items", "Rounds", "Pool / PFE (median)", "p25–p75", "Pool faster in", $"Target ≥ {target.ToString("0.00", CultureInfo.InvariantCulture)}");
        foreach (Workload workload in PoolBenchmarkSizes.Workloads)
        {
            foreach (int parallelism in PoolBenchmarkSizes.Parallelism)
            {
                foreach (int items in PoolBenchmarkSizes.Items)
                {
                    Report.Progress($"pool: paired rounds, {workload} at {parallelism}");
                    var benchmarks = new PoolBenchmarks { Workload = workload, Parallelism = parallelism, Items = items };
                    benchmarks.Setup();

                    // Warm both paths (JIT tiers, thread pool) before anything is counted.
                    for (int i = 0; i < 3; i++)
                    {
                        await benchmarks.ChannelWorkerPool().ConfigureAwait(false);
                        await benchmarks.ParallelForEachAsync().ConfigureAwait(false);
                    }

                    var ratios = new List<double>(rounds);
                    for (int round = 0; round < rounds; round++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        bool poolFirst = round % 2 == 0;
                        double first = await TimeAsync(poolFirst ? benchmarks.ChannelWorkerPool : benchmarks.ParallelForEachAsync).ConfigureAwait(false);
                        double second = await TimeAsync(poolFirst ? benchmarks.ParallelForEachAsync : benchmarks.ChannelWorkerPool).ConfigureAwait(false);
                        double poolSeconds = poolFirst ? first : second;
                        double baselineSeconds = poolFirst ? second : first;

                        // Items/s ratio = baseline time ÷ pool time.
                        ratios.Add(baselineSeconds / poolSeconds);
                    }

                    var spread = new Percentiles(ratios);
                    double median = spread.At(0.5);
                    table.Row(
                        workload.ToString(), parallelism.ToString(CultureInfo.InvariantCulture), Fmt.Int(items), rounds.ToString(CultureInfo.InvariantCulture),
                        Fmt.Ratio(median), $"{Fmt.Ratio(spread.At(0.25))}–{Fmt.Ratio(spread.At(0.75))}",
                        $"{ratios.Count(r => r > 1)} of {rounds}",
                        median >= target ? "met" : "missed");
                }
            }
        }

        report.Line($"Each round runs the pool and Parallel.ForEachAsync back to back (order alternating) on the same items and handler; the ratio is the baseline's time ÷ the pool's, i.e. the pool's items/s ÷ the baseline's.");
        report.Line("The median of those per-round ratios is robust to load from other processes, which a whole-case-at-a-time BenchmarkDotNet run is not on a shared machine.");
        report.Line();
        report.Table(table);
    }

    private static async Task<double> TimeAsync(Func<Task<long>> operation)
    {
        long start = Stopwatch.GetTimestamp();
        await operation().ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
