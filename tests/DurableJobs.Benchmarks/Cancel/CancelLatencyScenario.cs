using System.Diagnostics;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Core.Pool;

namespace DurableJobs.Benchmarks.Cancel;

/// <summary>
/// Cancel-to-quiescent latency: N workers parked in token-aware waits, a producer parked on a full input
/// channel, then the parent token is cancelled; the clock stops when every task the contender started has
/// finished (for the pool: when <see cref="ChannelWorkerPool{TIn, TOut}.DisposeAsync"/> returns).
/// </summary>
public sealed class CancelLatencyScenario : IBenchmarkScenario
{
    private const double TargetP99Ms = 10;
    private const string PoolName = "ChannelWorkerPool";
    private const string BaselineName = "Parallel.ForEachAsync";
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(10);

    public string Name => "cancel";

    public string Title => "cancel-to-quiescent latency, p50/p99";

    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        int runs = context.Quick ? 30 : 200;
        int warmup = context.Quick ? 3 : 10;
        int[] workerCounts = context.Quick ? [8, 120] : [8, 64, 120];
        var contenders = new (string Name, Func<int, CancellationToken, Task<Sample>> Measure)[]
        {
            (PoolName, MeasurePoolAsync),
            (BaselineName, MeasureParallelForEachAsync),
            ("Task.WhenAll (N tasks)", MeasureWhenAllAsync),
        };

        var table = new MarkdownTable("Workers", "Contender", "Runs", "p50", "p99", "max", "p99 / PFE p99", "Target p99 < 10 ms", "Not quiescent");
        foreach (int workers in workerCounts)
        {
            var results = new List<(string Name, Percentiles Latency, int Leaks)>();
            foreach (var (name, measure) in contenders)
            {
                Report.Progress($"cancel: {name}, {workers} workers, {runs} runs");
                for (int i = 0; i < warmup; i++)
                {
                    await measure(workers, cancellationToken).ConfigureAwait(false);
                }

                var latencies = new List<double>(runs);
                int leaks = 0;
                for (int i = 0; i < runs; i++)
                {
                    Sample sample = await measure(workers, cancellationToken).ConfigureAwait(false);
                    latencies.Add(sample.Milliseconds);
                    leaks += sample.StillRunning;
                }

                results.Add((name, new Percentiles(latencies), leaks));
            }

            double baselineP99 = results.Single(r => r.Name == BaselineName).Latency.At(0.99);
            foreach (var (name, p, leaks) in results)
            {
                double p99 = p.At(0.99);
                table.Row(
                    workers.ToString(System.Globalization.CultureInfo.InvariantCulture), name, Fmt.Int(p.Count),
                    Fmt.Ms(p.At(0.50)), Fmt.Ms(p99), Fmt.Ms(p.Max),
                    Fmt.Ratio(p99 / baselineP99),
                    name == PoolName ? (p99 < TargetP99Ms ? "met" : "missed") : "",
                    leaks == 0 ? "0" : $"{leaks} handler(s)");
            }
        }

        context.Report.Line("Each run: N handlers block in `Task.Delay(Infinite, token)`; the pool's producer is also blocked on its full input channel.");
        context.Report.Line("Latency = parent `Cancel()` → the contender has fully stopped (pool: `DisposeAsync` returned; others: their task completed).");
        context.Report.Line($"\"Not quiescent\" counts handlers still inside their body at that moment, over all runs (must be 0). Warm-up: {warmup} runs, not counted.");
        context.Report.Line();
        context.Report.Table(table);
    }

    private static async Task<Sample> MeasurePoolAsync(int workers, CancellationToken cancellationToken)
    {
        using var parent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int running = 0;
        long produced = 0;
        var pool = new ChannelWorkerPool<long, long>(
            async (item, token) =>
            {
                Interlocked.Increment(ref running);
                try
                {
                    await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
                    return item;
                }
                finally
                {
                    Interlocked.Decrement(ref running);
                }
            },
            new WorkerPoolOptions { WorkerCount = workers },
            parent.Token);

        // An asynchronous source, so the pool owns a producer task that must be stopped too (a synchronous
        // sequence is fed by the workers themselves and has no task of its own).
        _ = pool.StartProducer(EndlessAsync(() => Interlocked.Increment(ref produced)));

        // Workers busy, input full (2 × workers, at least 64, by default), and the producer waiting to write one more.
        long blockedProducer = workers + Math.Max(64L, 2L * workers) + 1;
        await WaitUntilAsync(() => Volatile.Read(ref running) == workers && Interlocked.Read(ref produced) >= blockedProducer).ConfigureAwait(false);

        long start = Stopwatch.GetTimestamp();
        await parent.CancelAsync().ConfigureAwait(false);
        await pool.DisposeAsync().ConfigureAwait(false);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new Sample(ms, Volatile.Read(ref running));
    }

    private static async Task<Sample> MeasureParallelForEachAsync(int workers, CancellationToken cancellationToken)
    {
        using var parent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int running = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = parent.Token };
        Task loop = Parallel.ForEachAsync(Endless(static () => 0), options, async (_, token) =>
        {
            Interlocked.Increment(ref running);
            try
            {
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        });

        await WaitUntilAsync(() => Volatile.Read(ref running) == workers).ConfigureAwait(false);
        long start = Stopwatch.GetTimestamp();
        await parent.CancelAsync().ConfigureAwait(false);
        await SwallowCancellation(loop).ConfigureAwait(false);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new Sample(ms, Volatile.Read(ref running));
    }

    private static async Task<Sample> MeasureWhenAllAsync(int workers, CancellationToken cancellationToken)
    {
        using var parent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int running = 0;
        var tasks = new Task[workers];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                Interlocked.Increment(ref running);
                try
                {
                    await Task.Delay(Timeout.Infinite, parent.Token).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref running);
                }
            });
        }

        await WaitUntilAsync(() => Volatile.Read(ref running) == workers).ConfigureAwait(false);
        long start = Stopwatch.GetTimestamp();
        await parent.CancelAsync().ConfigureAwait(false);
        await SwallowCancellation(Task.WhenAll(tasks)).ConfigureAwait(false);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return new Sample(ms, Volatile.Read(ref running));
    }

    private static IEnumerable<long> Endless(Func<long> next)
    {
        while (true)
        {
            yield return next();
        }
    }

    private static async IAsyncEnumerable<long> EndlessAsync(Func<long> next)
    {
        while (true)
        {
            await Task.CompletedTask.ConfigureAwait(false);
            yield return next();
        }
    }

    private static async Task SwallowCancellation(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The expected end of a cancelled run.
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        long start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(start) > SetupTimeout)
            {
                throw new TimeoutException("The contender did not reach its blocked state.");
            }

            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    private readonly record struct Sample(double Milliseconds, int StillRunning);
}
