using BenchmarkDotNet.Attributes;
using DurableJobs.Core.Pool;

namespace DurableJobs.Benchmarks.Pool;

/// <summary>
/// One operation = <see cref="Items"/> items through one contender at one degree of parallelism. Every
/// contender calls the same handler and sums the results, so only the scheduling differs.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet may derive from benchmark classes.</remarks>
public class PoolBenchmarks
{
    private Func<int, CancellationToken, ValueTask<int>> handler = null!;
    private long sum;

    public static IEnumerable<int> ParallelismValues => PoolBenchmarkSizes.Parallelism;

    public static IEnumerable<int> ItemValues => PoolBenchmarkSizes.Items;

    public static IEnumerable<Workload> WorkloadValues => PoolBenchmarkSizes.Workloads;

    [ParamsSource(nameof(WorkloadValues))]
    public Workload Workload { get; set; }

    [ParamsSource(nameof(ParallelismValues))]
    public int Parallelism { get; set; }

    [ParamsSource(nameof(ItemValues))]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup() => handler = Workloads.For(Workload);

    [Benchmark(Baseline = true)]
    public async Task<long> ParallelForEachAsync()
    {
        sum = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Parallelism };
        await Parallel.ForEachAsync(Enumerable.Range(0, Items), options, async (item, token) =>
            Interlocked.Add(ref sum, await handler(item, token).ConfigureAwait(false))).ConfigureAwait(false);
        return sum;
    }

    /// <summary>The pool streaming every result back to a reader through its bounded results channel.</summary>
    [Benchmark]
    public async Task<long> ChannelWorkerPool()
    {
        long total = 0;
        var pool = new ChannelWorkerPool<int, int>(handler, new WorkerPoolOptions { WorkerCount = Parallelism });
        await using (pool.ConfigureAwait(false))
        {
            _ = pool.StartProducer(Enumerable.Range(0, Items));
            await foreach (int result in pool.ReadAllAsync().ConfigureAwait(false))
            {
                total += result;
            }
        }

        return total;
    }

    /// <summary>
    /// The pool without a results channel (<see cref="WorkerPool.ForEachAsync"/>), summing in the handler as
    /// the baseline does: the like-for-like counterpart of <c>Parallel.ForEachAsync</c>.
    /// </summary>
    [Benchmark]
    public async Task<long> ChannelWorkerPoolForEach()
    {
        sum = 0;
        await WorkerPool.ForEachAsync(Enumerable.Range(0, Items), async (item, token) =>
            Interlocked.Add(ref sum, await handler(item, token).ConfigureAwait(false)), new WorkerPoolOptions { WorkerCount = Parallelism }).ConfigureAwait(false);
        return sum;
    }

    /// <summary>The fan-out of the seed article: one task per item, all at once. Parallelism does not apply.</summary>
    [Benchmark]
    public async Task<long> WhenAllUnbounded()
    {
        var tasks = new Task<int>[Items];
        for (int i = 0; i < tasks.Length; i++)
        {
            int item = i;
            tasks[i] = Task.Run(() => handler(item, CancellationToken.None).AsTask());
        }

        long total = 0;
        foreach (int result in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            total += result;
        }

        return total;
    }

    /// <summary>The usual C# fix for the fan-out: still one task per item, a semaphore caps how many run.</summary>
    [Benchmark]
    public async Task<long> WhenAllSemaphore()
    {
        using var gate = new SemaphoreSlim(Parallelism);
        var tasks = new Task<int>[Items];
        for (int i = 0; i < tasks.Length; i++)
        {
            int item = i;
            tasks[i] = Task.Run(async () =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    return await handler(item, CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            });
        }

        long total = 0;
        foreach (int result in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            total += result;
        }

        return total;
    }
}
