namespace DurableJobs.Orchestration.Signals;

/// <summary>
/// Tells the next chunk of a lane, in whichever process it runs, that the chunk before it finished: every job of that
/// chunk has its result recorded, so none of the lane's slots is held by it any more. Within one process the executor
/// hands slots over directly; this is how a chunk that landed on another process learns it may start.
/// </summary>
public interface ILaneHandover
{
    /// <summary>Records that chunk <paramref name="sequence"/> of <paramref name="lane"/> finished. Idempotent.</summary>
    Task MarkFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default);

    /// <summary>True once chunk <paramref name="sequence"/> of <paramref name="lane"/> was recorded as finished.</summary>
    Task<bool> IsFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default);
}
