using System.Collections.Concurrent;

namespace DurableJobs.Orchestration.Signals;

/// <summary>Signals within one process: for tests and single-process use. Cancelled batches are remembered for the process's life.</summary>
internal sealed class InMemoryBatchCancellationSignals : IBatchCancellationSignals
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> sources = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task SignalCancelAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        SourceOf(batchId).Cancel();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IBatchCancellationWatch> WatchAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        return Task.FromResult<IBatchCancellationWatch>(new Lease(SourceOf(batchId).Token));
    }

    /// <inheritdoc />
    public Task ForgetAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        sources.TryRemove(batchId, out _);
        return Task.CompletedTask;
    }

    private CancellationTokenSource SourceOf(string batchId) => sources.GetOrAdd(batchId, static _ => new CancellationTokenSource());

    private sealed class Lease(CancellationToken token) : IBatchCancellationWatch
    {
        public CancellationToken Token { get; } = token;

        public void Dispose()
        {
            // The shared source outlives any one watch.
        }
    }
}
