using System.Diagnostics;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The slots of one lane in this process: at most the lane's share of the cap of its jobs run at once, whichever of
/// its chunks they belong to. A freed slot goes to the waiting job of the lowest chunk sequence, so the older chunk
/// finishes first and its summary reaches the orchestrator early enough to grant the next chunk before the lane
/// runs dry; the newer chunk only fills slots the older one no longer needs.
/// </summary>
internal sealed class LaneSlots
{
    /// <summary>Guards <see cref="free"/>, <see cref="waiters"/> and <see cref="order"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>Jobs waiting for a slot, lowest chunk sequence first, then first come.</summary>
    private readonly PriorityQueue<TaskCompletionSource, (int Sequence, long Order)> waiters = new();

    /// <summary>Slots nobody holds. Above 0 only while no live waiter is queued (a release hands its slot on directly).</summary>
    private int free;

    /// <summary>Arrival counter: first come, first served within a chunk.</summary>
    private long order;

    public LaneSlots(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        Slots = slots;
        free = slots;
    }

    /// <summary>The lane's share of the cap.</summary>
    public int Slots { get; }

    /// <summary>True when no job holds a slot of the lane here.</summary>
    public bool IsIdle
    {
        get
        {
            lock (gate)
            {
                return free == Slots;
            }
        }
    }

    /// <summary>Takes a slot for a job of chunk <paramref name="sequence"/>; release it with <see cref="Release"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first; no slot is held.</exception>
    public Task AcquireAsync(int sequence, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource waiter;
        lock (gate)
        {
            Debug.Assert(free >= 0 && free <= Slots, "free slots out of range");
            if (free > 0)
            {
                // Nobody live is queued when a slot is free: every release serves the queue before it frees one.
                free--;
                return Task.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Enqueue(waiter, (sequence, order++));
        }

        return WaitAsync(waiter, cancellationToken);
    }

    /// <summary>Gives a slot back: to the first live waiter, or to the free count.</summary>
    public void Release()
    {
        lock (gate)
        {
            while (waiters.TryDequeue(out TaskCompletionSource? next, out _))
            {
                // A waiter whose token fired is skipped; the slot goes on down the queue.
                if (next.TrySetResult())
                {
                    return;
                }
            }

            free++;
            Debug.Assert(free <= Slots, "a slot was released twice");
        }
    }

    private async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static w => ((TaskCompletionSource)w!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }
}
