using System.Collections.Concurrent;

namespace DurableJobs.Orchestration.Signals;

/// <summary>Lane hand-overs within one process (tests, and hosts that run alone on a task hub's storage).</summary>
public sealed class InMemoryLaneHandover : ILaneHandover
{
    /// <summary>The finished chunks, as batch, lane and sequence.</summary>
    private readonly ConcurrentDictionary<(string Batch, string Lane, int Sequence), bool> finished = new();

    /// <inheritdoc />
    public Task MarkFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default)
    {
        finished[(batchId, lane, sequence)] = true;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> IsFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default) =>
        Task.FromResult(finished.ContainsKey((batchId, lane, sequence)));
}
