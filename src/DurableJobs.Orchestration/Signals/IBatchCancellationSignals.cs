namespace DurableJobs.Orchestration.Signals;

/// <summary>
/// Carries a batch cancel from the client that asks for it to every process running that batch's jobs:
/// the cluster-level cancel that reaches process-level tokens. The orchestrator cannot do I/O, so the
/// client writes the signal and the activities watch for it.
/// </summary>
internal interface IBatchCancellationSignals
{
    /// <summary>Records that <paramref name="batchId"/> is cancelled. Idempotent.</summary>
    Task SignalCancelAsync(string batchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts watching <paramref name="batchId"/>; the watch's token fires once the batch is cancelled. The
    /// signal is checked once before this returns, so work that starts after a cancel never runs.
    /// </summary>
    Task<IBatchCancellationWatch> WatchAsync(string batchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records that every chunk of <paramref name="lane"/> (of the submission <paramref name="jobsKey"/>) through
    /// <paramref name="sequence"/> has finished: the lane's next chunk, granted ahead onto another process, may take
    /// the lane's slots there (<see cref="IBatchCancellationWatch.WhenLaneFinishedAsync"/>) instead of going back to
    /// the orchestrator for a round trip. A later, lower record (two writes crossing) only makes a successor wait longer
    /// or go back; it never admits one early.
    /// </summary>
    Task LaneFinishedAsync(string batchId, string jobsKey, string lane, int sequence, CancellationToken cancellationToken = default);

    /// <summary>Forgets the signal of a batch that is being deleted. Idempotent.</summary>
    Task ForgetAsync(string batchId, CancellationToken cancellationToken = default);
}
