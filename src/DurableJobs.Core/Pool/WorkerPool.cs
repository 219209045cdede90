using System.Runtime.CompilerServices;

namespace DurableJobs.Core.Pool;

/// <summary>One-call entry points over <see cref="ChannelWorkerPool{TIn, TOut}"/>.</summary>
internal static class WorkerPool
{
    /// <summary>
    /// Handles <paramref name="items"/> with a bounded pool and streams the results in completion order.
    /// Breaking out of the loop or cancelling stops every task the pool started before this returns.
    /// </summary>
    public static async IAsyncEnumerable<TOut> ProcessAsync<TIn, TOut>(
        IEnumerable<TIn> items,
        Func<TIn, CancellationToken, ValueTask<TOut>> handler,
        WorkerPoolOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var pool = new ChannelWorkerPool<TIn, TOut>(handler, options, cancellationToken);
        await using (pool.ConfigureAwait(false))
        {
            // The pool owns the producer task and waits for it on dispose.
            _ = pool.StartProducer(items);
            await foreach (TOut result in pool.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return result;
            }
        }
    }

    /// <summary>
    /// Handles every item with a bounded pool when no results are needed back (the pool's counterpart of
    /// <see cref="Parallel.ForEachAsync{TSource}(IEnumerable{TSource}, ParallelOptions, Func{TSource, CancellationToken, ValueTask})"/>):
    /// no results channel, so no reader to wake per result. Returns when every item is handled; throws the
    /// first handler exception, or <see cref="OperationCanceledException"/> when cancelled. Either way every
    /// task the pool started has finished before it returns.
    /// </summary>
    public static async Task ForEachAsync<TIn>(
        IEnumerable<TIn> items,
        Func<TIn, CancellationToken, ValueTask> handler,
        WorkerPoolOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(handler);
        var pool = new ChannelWorkerPool<TIn, bool>(
            // Only the item-timeout path needs a result-returning form of the handler.
            async (item, token) =>
            {
                await handler(item, token).ConfigureAwait(false);
                return true;
            },
            sink: handler,
            options,
            cancellationToken);
        await using (pool.ConfigureAwait(false))
        {
            _ = pool.StartProducer(items);
            await pool.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Handles <paramref name="items"/> with a bounded pool and returns every result (in completion order).</summary>
    public static async Task<IReadOnlyList<TOut>> RunAsync<TIn, TOut>(
        IEnumerable<TIn> items,
        Func<TIn, CancellationToken, ValueTask<TOut>> handler,
        WorkerPoolOptions options,
        CancellationToken cancellationToken = default)
    {
        var results = new List<TOut>();
        await foreach (TOut result in ProcessAsync(items, handler, options, cancellationToken).ConfigureAwait(false))
        {
            results.Add(result);
        }

        return results;
    }
}
