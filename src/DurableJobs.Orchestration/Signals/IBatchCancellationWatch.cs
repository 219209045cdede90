namespace DurableJobs.Orchestration.Signals;

/// <summary>A running watch on one batch. Dispose it when the work it guards is done.</summary>
internal interface IBatchCancellationWatch : IDisposable
{
    /// <summary>Cancelled once the batch is cancelled.</summary>
    CancellationToken Token { get; }
}
