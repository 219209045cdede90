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
    private readonly DateTime deadlineUtc;
    private readonly TimeProvider timeProvider;

    public JobStopSignals(DateTime deadlineUtc, CancellationToken batchCancelled, CancellationToken hostStopping, TimeProvider timeProvider)
    {
        this.batchCancelled = batchCancelled;
        this.hostStopping = hostStopping;
        this.deadlineUtc = deadlineUtc;
        this.timeProvider = timeProvider;
        TimeSpan remaining = deadlineUtc - timeProvider.GetUtcNow().UtcDateTime;
        deadline = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, timeProvider);
        linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, batchCancelled, hostStopping);
    }

    /// <summary>Fires on the first of the three.</summary>
    public CancellationToken Token => linked.Token;

    public bool HostStopping => hostStopping.IsCancellationRequested;

    /// <summary>
    /// True once any of the three fired, or the deadline has passed by the clock even if this token's timer has not
    /// fired yet: each chunk has its own timer, and a slot freed by a job another chunk's timer stopped must not start a
    /// job of this chunk in the moment before this one's fires.
    /// </summary>
    public bool ShouldStop => linked.IsCancellationRequested || timeProvider.GetUtcNow().UtcDateTime >= deadlineUtc - TimerSlack;

    /// <summary>
    /// How early a timer may fire against the clock (one tick of the coarsest OS timer, 15.6 ms on Windows): a slot freed
    /// by a job whose chunk's timer fired a little early must not start a job of a chunk whose timer has not.
    /// </summary>
    private static readonly TimeSpan TimerSlack = TimeSpan.FromMilliseconds(20);

    /// <summary>The final status of a job stopped by this token: a cancel wins over the deadline when both fired.</summary>
    public Core.Model.JobStatus StopStatus =>
        batchCancelled.IsCancellationRequested ? Core.Model.JobStatus.Cancelled : Core.Model.JobStatus.TimedOut;

    public void Dispose()
    {
        linked.Dispose();
        deadline.Dispose();
    }
}
