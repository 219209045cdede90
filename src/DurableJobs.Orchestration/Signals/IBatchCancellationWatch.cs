namespace DurableJobs.Orchestration.Signals;

/// <summary>A running watch on one batch. Dispose it when the work it guards is done.</summary>
internal interface IBatchCancellationWatch : IDisposable
{
    /// <summary>Cancelled once the batch is cancelled.</summary>
    CancellationToken Token { get; }

    /// <summary>
    /// Completes once every chunk of <paramref name="lane"/> through <paramref name="sequence"/> is recorded finished
    /// (<see cref="IBatchCancellationSignals.LaneFinishedAsync"/>, by any process); cancelled with <paramref name="cancellationToken"/>.
    /// </summary>
    Task WhenLaneFinishedAsync(string jobsKey, string lane, int sequence, CancellationToken cancellationToken);
}
