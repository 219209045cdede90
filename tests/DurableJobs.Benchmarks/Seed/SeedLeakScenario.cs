using System.Diagnostics;
using System.Threading.Channels;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Core.Pool;

namespace DurableJobs.Benchmarks.Seed;

/// <summary>
/// The seed article's before/after table in C#. Both sides get the same 50,000 jobs (each holds a 1 KB buffer
/// through a 500 ms wait, then sends its result to a consumer) and the same event: 250 ms in, the parent
/// token is cancelled and the consumer stops reading (the article's early return). The naive fan-out starts
/// one task per job whose wait and send take no token; the pool runs the jobs on a fixed set of workers
/// where every wait, read and write takes the pool's token.
/// </summary>
public sealed class SeedLeakScenario : IBenchmarkScenario
{
    private const int Jobs = 50_000;
    private const int Workers = 120;
    private const int PayloadBytes = 1024;
    private static readonly TimeSpan JobDuration = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan CancelAfter = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    public string Name => "seed";

    public string Title => "the seed article's table: unbounded fan-out of blocked tasks vs ChannelWorkerPool";

    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        TimeSpan window = context.Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(2);

        // The pool first: the naive side's leak would otherwise inflate the process numbers the pool is judged by.
        Report.Progress($"seed: ChannelWorkerPool, {Jobs:N0} jobs on {Workers} workers");
        SeedOutcome pool = await RunPoolAsync(window, cancellationToken).ConfigureAwait(false);
        Report.Progress($"seed: naive fan-out, {Jobs:N0} tasks");
        (SeedOutcome naive, double cleanupMs, int cleanupLeft) = await RunNaiveAsync(window, cancellationToken).ConfigureAwait(false);

        string windowText = Fmt.Ms(window.TotalMilliseconds);
        var table = new MarkdownTable("Metric", "Naive fan-out (Task per job, no token)", "ChannelWorkerPool", "Naive / pool");
        table.Row("Peak live job tasks", Fmt.Int(naive.PeakLiveJobs), Fmt.Int(pool.PeakLiveJobs), Fmt.Ratio((double)naive.PeakLiveJobs / pool.PeakLiveJobs));
        table.Row("Peak managed heap growth", Fmt.Bytes(naive.PeakManagedGrowthBytes), Fmt.Bytes(pool.PeakManagedGrowthBytes), Fmt.Ratio((double)naive.PeakManagedGrowthBytes / pool.PeakManagedGrowthBytes));
        table.Row("Peak working set growth", Fmt.Bytes(naive.PeakWorkingSetGrowthBytes), Fmt.Bytes(pool.PeakWorkingSetGrowthBytes), Fmt.Ratio((double)naive.PeakWorkingSetGrowthBytes / pool.PeakWorkingSetGrowthBytes));
        table.Row("Peak working set (whole process)", Fmt.Bytes(naive.PeakWorkingSetBytes), Fmt.Bytes(pool.PeakWorkingSetBytes), Fmt.Ratio((double)naive.PeakWorkingSetBytes / pool.PeakWorkingSetBytes));
        table.Row("Peak thread-pool threads", Fmt.Int(naive.PeakThreadPoolThreads), Fmt.Int(pool.PeakThreadPoolThreads), Fmt.Ratio((double)naive.PeakThreadPoolThreads / pool.PeakThreadPoolThreads));
        table.Row(
            "Recovery: cancel → every job task finished",
            naive.RecoveryMs is { } nr ? Fmt.Ms(nr) : $"never (leaked {Fmt.Int(naive.LiveAfterWindow)} tasks after {windowText})",
            pool.RecoveryMs is { } pr ? Fmt.Ms(pr) : $"never (leaked {Fmt.Int(pool.LiveAfterWindow)} tasks after {windowText})",
            naive.RecoveryMs is { } a && pool.RecoveryMs is { } b ? Fmt.Ratio(a / b) : "n/a");
        table.Row($"Live job tasks {windowText} after cancel", Fmt.Int(naive.LiveAfterWindow), Fmt.Int(pool.LiveAfterWindow), "");
        table.Row($"Managed heap still held {windowText} after cancel (after a full GC)", Fmt.Bytes(naive.RetainedAfterWindowBytes), Fmt.Bytes(pool.RetainedAfterWindowBytes), pool.RetainedAfterWindowBytes > 0 ? Fmt.Ratio((double)naive.RetainedAfterWindowBytes / pool.RetainedAfterWindowBytes) : "n/a (pool ≤ 0)");
        table.Row("Results delivered before cancel", Fmt.Int(naive.JobsCompleted), Fmt.Int(pool.JobsCompleted), "");

        Report report = context.Report;
        report.Line($"{Fmt.Int(Jobs)} jobs, each holding a {PayloadBytes} B buffer through a {JobDuration.TotalMilliseconds:0} ms wait, then sending its result to one consumer.");
        report.Line($"{CancelAfter.TotalMilliseconds:0} ms after all jobs (naive) or all {Workers} workers (pool) are running, the parent token is cancelled and the consumer stops reading.");
        report.Line("Naive: `Task.Run` per job, `Task.Delay(500)` and `channel.Writer.WriteAsync(result)` without a token (the article's bug).");
        report.Line($"Pool: `ChannelWorkerPool` with {Workers} workers (the article's 120), the same jobs with the pool's token; recovery = cancel → `DisposeAsync` returned.");
        report.Line("Growth = peak over the value measured just before the run (after a full GC); memory is sampled every 5 ms on a dedicated thread.");
        report.Line();
        report.Table(table);
        report.Line(cleanupLeft == 0
            ? $"After measuring, the naive side's kill switch (completing the results channel, which fails every blocked send) ended all its tasks in {Fmt.Ms(cleanupMs)}; nothing else could have."
            : $"After measuring, the kill switch left {Fmt.Int(cleanupLeft)} naive tasks running; they end with the process.");
        report.Line();
    }

    private static async Task<SeedOutcome> RunPoolAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        (long managed0, long workingSet0) = Baseline();
        var live = new LiveCounter();
        int delivered = 0;
        using var parent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sampler = new MemorySampler(SampleInterval);

        var pool = new ChannelWorkerPool<int, int>(
            async (item, token) =>
            {
                live.Enter();
                try
                {
                    byte[] payload = new byte[PayloadBytes];
                    payload[^1] = (byte)item;
                    await Task.Delay(JobDuration, token).ConfigureAwait(false);
                    return payload.Length;
                }
                finally
                {
                    live.Exit();
                }
            },
            new WorkerPoolOptions { WorkerCount = Workers },
            parent.Token);
        _ = pool.StartProducer(Enumerable.Range(0, Jobs));
        Task consumer = Task.Run(async () =>
        {
            try
            {
                await foreach (int _ in pool.ReadAllAsync(parent.Token).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref delivered);
                }
            }
            catch (OperationCanceledException)
            {
                // The consumer walks away at cancel, as in the naive run.
            }
        }, CancellationToken.None);

        await WaitUntilAsync(() => live.Current == Workers, StartTimeout).ConfigureAwait(false);
        await Task.Delay(CancelAfter, cancellationToken).ConfigureAwait(false);
        sampler.SampleNow();
        int deliveredBeforeCancel = Volatile.Read(ref delivered);

        long start = Stopwatch.GetTimestamp();
        await parent.CancelAsync().ConfigureAwait(false);
        await consumer.ConfigureAwait(false);
        await pool.DisposeAsync().ConfigureAwait(false);
        double? recoveryMs = live.Current == 0 ? Stopwatch.GetElapsedTime(start).TotalMilliseconds : null;

        // Same observation point as the naive side: the end of the recovery window.
        TimeSpan rest = window - Stopwatch.GetElapsedTime(start);
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, cancellationToken).ConfigureAwait(false);
        }

        int liveAfter = live.Current;
        sampler.Dispose();
        long retained = GC.GetTotalMemory(forceFullCollection: true) - managed0;
        GC.KeepAlive(pool);
        return new SeedOutcome(
            live.Peak, sampler.PeakManagedBytes - managed0, sampler.PeakWorkingSetBytes, sampler.PeakWorkingSetBytes - workingSet0,
            sampler.PeakThreadPoolThreads, recoveryMs, liveAfter, retained, deliveredBeforeCancel);
    }

    private static async Task<(SeedOutcome Outcome, double CleanupMs, int CleanupLeft)> RunNaiveAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        (long managed0, long workingSet0) = Baseline();
        var live = new LiveCounter();
        int delivered = 0;

        // Capacity 1 is the nearest thing to Go's unbuffered channel: once nobody reads, every send waits.
        Channel<int> results = Channel.CreateBounded<int>(1);
        using var parent = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sampler = new MemorySampler(SampleInterval);

        Task consumer = Task.Run(async () =>
        {
            try
            {
                await foreach (int _ in results.Reader.ReadAllAsync(parent.Token).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref delivered);
                }
            }
            catch (OperationCanceledException)
            {
                // The early return: from here on nobody reads.
            }
        }, CancellationToken.None);

        for (int i = 0; i < Jobs; i++)
        {
            int item = i;
            _ = Task.Run(async () =>
            {
                live.Enter();
                try
                {
                    byte[] payload = new byte[PayloadBytes];
                    payload[^1] = (byte)item;
                    await Task.Delay(JobDuration).ConfigureAwait(false);
                    await results.Writer.WriteAsync(payload.Length).ConfigureAwait(false);
                }
                catch (ChannelClosedException)
                {
                    // Only the kill switch below gets here, after the measurement.
                }
                finally
                {
                    live.Exit();
                }
            }, CancellationToken.None);
        }

        await WaitUntilAsync(() => live.Current == Jobs, StartTimeout).ConfigureAwait(false);
        await Task.Delay(CancelAfter, cancellationToken).ConfigureAwait(false);
        sampler.SampleNow();
        int deliveredBeforeCancel = Volatile.Read(ref delivered);

        long start = Stopwatch.GetTimestamp();
        await parent.CancelAsync().ConfigureAwait(false);
        await consumer.ConfigureAwait(false);
        double? recoveryMs = null;
        while (Stopwatch.GetElapsedTime(start) < window)
        {
            if (live.Current == 0)
            {
                recoveryMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                break;
            }

            await Task.Delay(SampleInterval, cancellationToken).ConfigureAwait(false);
        }

        TimeSpan rest = window - Stopwatch.GetElapsedTime(start);
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, cancellationToken).ConfigureAwait(false);
        }

        int liveAfter = live.Current;
        sampler.Dispose();
        long retained = GC.GetTotalMemory(forceFullCollection: true) - managed0;
        var outcome = new SeedOutcome(
            live.Peak, sampler.PeakManagedBytes - managed0, sampler.PeakWorkingSetBytes, sampler.PeakWorkingSetBytes - workingSet0,
            sampler.PeakThreadPoolThreads, recoveryMs, liveAfter, retained, deliveredBeforeCancel);

        // Kill switch, used only now that the numbers are taken: completing the channel fails every blocked
        // send, so the leaked tasks end and do not skew later scenarios. The article had no such switch.
        long cleanupStart = Stopwatch.GetTimestamp();
        results.Writer.TryComplete();
        try
        {
            await WaitUntilAsync(() => live.Current == 0, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Reported below; they end with the process.
        }

        return (outcome, Stopwatch.GetElapsedTime(cleanupStart).TotalMilliseconds, live.Current);
    }

    private static (long Managed, long WorkingSet) Baseline()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (GC.GetTotalMemory(forceFullCollection: true), Environment.WorkingSet);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                throw new TimeoutException("The run did not reach the expected state in time.");
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    /// <summary>Live and peak counts of tasks inside a job body.</summary>
    private sealed class LiveCounter
    {
        private int current;
        private int peak;

        public int Current => Volatile.Read(ref current);

        public int Peak => Volatile.Read(ref peak);

        public void Enter() => AtomicMax.Raise(ref peak, Interlocked.Increment(ref current));

        public void Exit() => Interlocked.Decrement(ref current);
    }
}
