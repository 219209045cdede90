using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// The pause and resume events of a running batch. Both are always awaited, so each is taken as it arrives: a resume
/// raised while the batch runs is a no-op, not a buffered event that would undo the next pause the moment it came.
/// While paused the orchestrator grants no chunk (and a batch in parts starts no part); chunks already granted finish.
/// Waiting for an event adds nothing to the history, so histories recorded before pause existed replay unchanged.
/// </summary>
internal sealed class BatchPause : IDisposable
{
    private readonly TaskOrchestrationContext context;
    private readonly CancellationTokenSource stop = new();

    public BatchPause(TaskOrchestrationContext context)
    {
        this.context = context;
        PauseEvent = context.WaitForExternalEvent<BatchControlRequest>(BatchNames.PauseEvent, stop.Token);
        ResumeEvent = context.WaitForExternalEvent<BatchControlRequest>(BatchNames.ResumeEvent, stop.Token);
    }

    /// <summary>True between a pause and the next resume.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>The next pause event.</summary>
    public Task<BatchControlRequest> PauseEvent { get; private set; }

    /// <summary>The next resume event.</summary>
    public Task<BatchControlRequest> ResumeEvent { get; private set; }

    /// <summary>Both waits, in a fixed order (Task.WhenAny must see the same order on every replay).</summary>
    public IEnumerable<Task> Events => [PauseEvent, ResumeEvent];

    /// <summary>
    /// Takes <paramref name="winner"/> if it is the pause or resume event (and waits for the next one of its kind):
    /// true then, with <see cref="IsPaused"/> updated; false for any other task.
    /// </summary>
    public bool TryTake(Task winner)
    {
        if (winner == PauseEvent)
        {
            IsPaused = true;
            PauseEvent = context.WaitForExternalEvent<BatchControlRequest>(BatchNames.PauseEvent, stop.Token);
            return true;
        }

        if (winner == ResumeEvent)
        {
            IsPaused = false;
            ResumeEvent = context.WaitForExternalEvent<BatchControlRequest>(BatchNames.ResumeEvent, stop.Token);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Takes the events that have already arrived: those raised before the batch started (buffered until this wait
    /// existed) or in the same episode as the task that last woke the orchestrator. True when there was one. A pause is
    /// taken before a resume (the order they are normally sent in).
    /// </summary>
    public bool TakeArrived()
    {
        bool taken = false;
        while (PauseEvent.IsCompletedSuccessfully || ResumeEvent.IsCompletedSuccessfully)
        {
            taken |= TryTake(PauseEvent.IsCompletedSuccessfully ? PauseEvent : ResumeEvent);
        }

        return taken;
    }

    /// <summary>Ends both waits: the orchestration completes without an event wait outstanding.</summary>
    public void Dispose()
    {
        stop.Cancel();
        stop.Dispose();
    }
}
