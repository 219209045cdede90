namespace DurableJobs.Orchestration.Signals;

/// <summary>
/// What one process knows of a batch's lanes finished elsewhere: the highest chunk sequence of each lane through which
/// every chunk has finished, and the chunks here waiting for one (<see cref="IBatchCancellationWatch.WhenLaneFinishedAsync"/>).
/// </summary>
internal sealed class LaneMarks
{
    /// <summary>Guards <see cref="through"/> and <see cref="waiting"/>.</summary>
    private readonly Lock gate = new();

    /// <summary>The highest sequence recorded finished, by submission and lane.</summary>
    private readonly Dictionary<(string JobsKey, string Lane), int> through = [];

    /// <summary>Chunks waiting for a lane to be finished through a sequence.</summary>
    private readonly List<Waiter> waiting = [];

    /// <summary>True while a chunk here waits for a mark (its poll may come sooner).</summary>
    public bool HasWaiters
    {
        get
        {
            lock (gate)
            {
                return waiting.Count > 0;
            }
        }
    }

    /// <summary>Records that <paramref name="lane"/> finished through <paramref name="sequence"/>; wakes the chunks that waited for it.</summary>
    public void Record(string jobsKey, string lane, int sequence)
    {
        List<Waiter>? done = null;
        lock (gate)
        {
            if (through.TryGetValue((jobsKey, lane), out int known) && known >= sequence)
            {
                return;
            }

            through[(jobsKey, lane)] = sequence;
            for (int i = waiting.Count - 1; i >= 0; i--)
            {
                Waiter w = waiting[i];
                if (w.JobsKey == jobsKey && w.Lane == lane && w.Sequence <= sequence)
                {
                    (done ??= []).Add(w);
                    waiting.RemoveAt(i);
                }
            }
        }

        done?.ForEach(w => w.Finished.TrySetResult());
    }

    /// <summary>Completes once <paramref name="lane"/> is recorded finished through <paramref name="sequence"/>.</summary>
    public async Task WhenFinishedAsync(string jobsKey, string lane, int sequence, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (gate)
        {
            if (through.TryGetValue((jobsKey, lane), out int known) && known >= sequence)
            {
                return;
            }

            waiter = new Waiter(jobsKey, lane, sequence);
            waiting.Add(waiter);
        }

        try
        {
            await waiter.Finished.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (gate)
            {
                waiting.Remove(waiter);
            }
        }
    }

    private sealed record Waiter(string JobsKey, string Lane, int Sequence)
    {
        public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
