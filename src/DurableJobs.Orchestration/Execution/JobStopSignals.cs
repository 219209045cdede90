namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The three ways a running job is told to stop, linked into one token: the batch deadline, a batch cancel
/// (cluster level) and host shutdown (process level). It also says which of them fired.
/// </summary>
internal sealed class JobStopSignals : IDisposable
{
    private readonly CancellationTokenSource deadline;
    private readonly CancellationTokenSource linked;
    private readonly CancellationToken batchCancelled;
    private readonly CancellationToken hostStopping;

    public JobStopSignals(DateTime deadlineUtc, CancellationToken batchCancelled, CancellationToken hostStopping, TimeProvider timeProvider)
    {
        this.batchCancelled = batchCancelled;
        this.hostStopping = hostStopping;
        TimeSpan remaining = deadlineUtc - timeProvider.GetUtcNow().UtcDateTime;
        deadline = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, timeProvider);
        linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, batchCancelled, hostStopping);
    }

    /// <summary>Fires on the first of the three.</summary>
    public CancellationToken Token => linked.Token;

    public bool HostStopping => hostStopping.IsCancellationRequested;

    /// <summary>The final status of a job stopped by this token: a cancel wins over the deadline when both fired.</summary>
    public Core.Model.JobStatus StopStatus =>
        batchCancelled.IsCancellationRequested ? Core.Model.JobStatus.Cancelled : Core.Model.JobStatus.TimedOut;

    public void Dispose()
    {
        linked.Dispose();
        deadline.Dispose();
    }
}
