using System.Collections.Concurrent;

namespace DurableJobs.Orchestration.Signals;

/// <summary>Signals within one process: for tests and single-process use. Cancelled batches are remembered for the process's life.</summary>
internal sealed class InMemoryBatchCancellationSignals : IBatchCancellationSignals
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> sources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LaneMarks> lanes = new(StringComparer.Ordinal);

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
        return Task.FromResult<IBatchCancellationWatch>(new Lease(SourceOf(batchId).Token, LanesOf(batchId)));
    }

    /// <inheritdoc />
    public Task LaneFinishedAsync(string batchId, string jobsKey, string lane, int sequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        LanesOf(batchId).Record(jobsKey, lane, sequence);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task ForgetAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        sources.TryRemove(batchId, out _);
        lanes.TryRemove(batchId, out _);
        return Task.CompletedTask;
    }

    private CancellationTokenSource SourceOf(string batchId) => sources.GetOrAdd(batchId, static _ => new CancellationTokenSource());

    private LaneMarks LanesOf(string batchId) => lanes.GetOrAdd(batchId, static _ => new LaneMarks());

    private sealed class Lease(CancellationToken token, LaneMarks lanes) : IBatchCancellationWatch
    {
        public CancellationToken Token { get; } = token;

        public Task WhenLaneFinishedAsync(string jobsKey, string lane, int sequence, CancellationToken cancellationToken) =>
            lanes.WhenFinishedAsync(jobsKey, lane, sequence, cancellationToken);

        public void Dispose()
        {
            // The shared source outlives any one watch.
        }
    }
}
