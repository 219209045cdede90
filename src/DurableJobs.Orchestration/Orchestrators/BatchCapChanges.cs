using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// The events that change a running batch's cap (<c>PATCH /api/batches/{id}</c>), taken one by one as they arrive. What
/// a change does to the lanes is <see cref="ChunkPlanner.ChangeCap"/>'s: a rise adds lanes at once, a fall retires the
/// lanes and opens new ones once their chunks finished, so the cap holds at every instant.
/// </summary>
internal sealed class BatchCapChanges : IDisposable
{
    private readonly TaskOrchestrationContext context;
    private readonly CancellationTokenSource stop = new();

    public BatchCapChanges(TaskOrchestrationContext context)
    {
        this.context = context;
        Next = context.WaitForExternalEvent<CapChange>(BatchNames.SetCapEvent, stop.Token);
    }

    /// <summary>The next change.</summary>
    public Task<CapChange> Next { get; private set; }

    /// <summary>The new cap when <paramref name="winner"/> is the change event (and waits for the next one), else null.</summary>
    public int? TryTake(Task winner)
    {
        if (winner != Next)
        {
            return null;
        }

        int cap = Next.Result.MaxParallel;
        Next = context.WaitForExternalEvent<CapChange>(BatchNames.SetCapEvent, stop.Token);
        return cap;
    }

    /// <summary>The latest change that has already arrived (raised before the batch started, or in the last episode), if any.</summary>
    public int? TakeArrived()
    {
        int? cap = null;
        while (Next.IsCompletedSuccessfully)
        {
            cap = TryTake(Next);
        }

        return cap;
    }

    /// <summary>Ends the wait: the orchestration completes without an event wait outstanding.</summary>
    public void Dispose()
    {
        stop.Cancel();
        stop.Dispose();
    }
}
