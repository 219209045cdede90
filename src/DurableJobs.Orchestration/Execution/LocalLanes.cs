using System.Diagnostics;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The lanes with chunks in this process, and each chunk's turn in its lane. A chunk may start jobs once the chunk
/// before it in the lane (sequence - 1) is either admitted here and has started all its jobs — then both draw on the
/// same <see cref="LaneSlots"/>, so the new chunk's jobs start exactly as the old chunk's jobs free slots, and never
/// before a job of an older chunk — or finished, as
/// <see cref="ILaneHandover"/> tells wherever it ran. Either way no instant has more of a lane's jobs running than its
/// slots, so the lanes' shares, which add up to the cap, bound the batch cluster-wide.
/// </summary>
/// <remarks>
/// Why not simply start when the chunk arrives: the orchestrator grants a lane's next chunk while the current one runs,
/// so that the round trip between chunks (activity result, replay, next message, poll) is hidden behind work. Started
/// at once, the two chunks would together hold twice the lane's share. Chunks are dispatched roughly in the order the
/// orchestrator scheduled them, so a chunk waits on a predecessor that is already running, not on one queued behind it.
/// </remarks>
internal sealed class LocalLanes(ILaneHandover handover, TimeProvider time, TimeSpan pollInterval)
{
    /// <summary>The lanes with at least one chunk here, by batch and lane id.</summary>
    private readonly Dictionary<(string Batch, string Lane), Lane> lanes = [];

    /// <summary>Guards <see cref="lanes"/> and every lane's fields.</summary>
    private readonly Lock gate = new();

    /// <summary>
    /// Waits for <paramref name="chunk"/>'s turn in its lane. The turn is not admitted when <paramref name="stop"/>
    /// fired first: the chunk's jobs then must not start (they are recorded stopped). Dispose the turn when the chunk is
    /// done and, if it was admitted, after <see cref="ILaneHandover.MarkFinishedAsync"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="hostStopping"/> fired while waiting.</exception>
    public async Task<LaneTurn> EnterAsync(JobChunk chunk, int jobs, CancellationToken stop, CancellationToken hostStopping)
    {
        if (chunk.Lane is null)
        {
            // A chunk from before lanes were granted ahead holds its slots alone.
            return new LaneTurn(this, null, default, new LaneSlots(Math.Max(1, chunk.Parallelism)), chunk.Sequence, Admitted: true);
        }

        (string, string) key = (chunk.BatchId, chunk.Lane);
        Lane lane;
        lock (gate)
        {
            if (!lanes.TryGetValue(key, out Lane? existing))
            {
                existing = new Lane(new LaneSlots(Math.Max(1, chunk.Parallelism)));
                lanes.Add(key, existing);
            }

            lane = existing;
            lane.References++;
        }

        try
        {
            bool admitted = await WaitForTurnAsync(chunk, jobs, lane, stop).ConfigureAwait(false);
            return new LaneTurn(this, key, lane, lane.Slots, chunk.Sequence, admitted);
        }
        catch
        {
            Leave(key, lane, chunk.Sequence);
            hostStopping.ThrowIfCancellationRequested();
            throw;
        }
    }

    private async Task<bool> WaitForTurnAsync(JobChunk chunk, int jobs, Lane lane, CancellationToken stop)
    {
        int sequence = chunk.Sequence;
        while (true)
        {
            Task changed;
            lock (gate)
            {
                if (sequence == 0 || (lane.AdmittedThrough >= sequence - 1 && !lane.HasUnstartedBefore(sequence)))
                {
                    Admit(lane, sequence, jobs);
                    return true;
                }

                changed = lane.Changed.Task;
            }

            if (stop.IsCancellationRequested)
            {
                return false;
            }

            if (await IsFinishedElsewhereAsync(chunk, sequence - 1, stop).ConfigureAwait(false))
            {
                lock (gate)
                {
                    Admit(lane, sequence, jobs);
                }

                return true;
            }

            // The predecessor is running elsewhere, or not yet started: wake when it is admitted here, or poll again.
            try
            {
                await Task.WhenAny(changed, Task.Delay(pollInterval, time, stop)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return false;
            }

            if (stop.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    private async Task<bool> IsFinishedElsewhereAsync(JobChunk chunk, int sequence, CancellationToken stop)
    {
        try
        {
            return await handover.IsFinishedAsync(chunk.BatchId, chunk.Lane!, sequence, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Storage unreadable for now: keep waiting (the deadline or a cancel still ends the wait), rather than fail
            // the chunk and pay an activity retry for a read that the next poll makes again.
            return false;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// Called when every job of an admitted chunk has its result recorded; returns once no chunk before it in the lane
    /// still runs here, so that the hand-over row written next means "this chunk and every one before it finished". A
    /// chunk's jobs can finish before its predecessor's last ones (they only start in slots the predecessor freed, but
    /// may be shorter), and a successor on another worker that trusted the row alone would then start beside them.
    /// </summary>
    public async Task FinishedAsync(LaneTurn turn, CancellationToken cancellationToken)
    {
        if (turn.LaneObject is not Lane lane || !turn.Admitted)
        {
            return;
        }

        while (true)
        {
            Task changed;
            lock (gate)
            {
                if (lane.Running.Remove(turn.Sequence))
                {
                    Signal(lane);
                }

                if (lane.Running.Count == 0 || lane.Running.Min > turn.Sequence)
                {
                    return;
                }

                changed = lane.Changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One job of an admitted chunk took its slot (or was stopped before it could): one fewer to start.</summary>
    public void Started(LaneTurn turn)
    {
        if (turn.LaneObject is not Lane lane || !turn.Admitted)
        {
            return;
        }

        lock (gate)
        {
            if (lane.Unstarted.TryGetValue(turn.Sequence, out int left))
            {
                if (left > 1)
                {
                    lane.Unstarted[turn.Sequence] = left - 1;
                }
                else
                {
                    // Its last job started: the next chunk of the lane may now take slots as they free.
                    lane.Unstarted.Remove(turn.Sequence);
                    Signal(lane);
                }
            }
        }
    }

    private static void Admit(Lane lane, int sequence, int jobs)
    {
        // Called under the gate.
        lane.Running.Add(sequence);
        if (jobs > 0)
        {
            lane.Unstarted[sequence] = jobs;
        }

        if (sequence > lane.AdmittedThrough)
        {
            lane.AdmittedThrough = sequence;
        }

        Signal(lane);
    }

    private static void Signal(Lane lane)
    {
        // Called under the gate: wakes every chunk waiting on this lane's state.
        TaskCompletionSource woken = lane.Changed;
        lane.Changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        woken.TrySetResult();
    }

    private void Leave((string, string) key, Lane lane, int sequence)
    {
        lock (gate)
        {
            Debug.Assert(lane.References > 0, "a lane left more often than entered");

            // A chunk that ends without finishing (an error; it is delivered again) no longer holds back later chunks.
            if (lane.Running.Remove(sequence) | lane.Unstarted.Remove(sequence))
            {
                Signal(lane);
            }

            if (--lane.References == 0)
            {
                // Forgotten here; a later chunk of the lane learns from the hand-over row that this one finished.
                lanes.Remove(key);
            }
        }
    }

    /// <summary>A lane with chunks in this process.</summary>
    private sealed class Lane(LaneSlots slots)
    {
        public LaneSlots Slots { get; } = slots;

        /// <summary>The highest chunk sequence admitted here (running or finished), -1 for none.</summary>
        public int AdmittedThrough { get; set; } = -1;

        /// <summary>Chunks admitted here whose jobs have not all finished.</summary>
        public SortedSet<int> Running { get; } = [];

        /// <summary>Jobs of admitted chunks that have not taken a slot yet, by chunk sequence.</summary>
        public Dictionary<int, int> Unstarted { get; } = [];

        /// <summary>True while a chunk before <paramref name="sequence"/> still has jobs to start here.</summary>
        public bool HasUnstartedBefore(int sequence) => Unstarted.Keys.Any(s => s < sequence);

        /// <summary>Completed (and replaced) whenever a chunk is admitted or finishes here.</summary>
        public TaskCompletionSource Changed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Chunks here that entered the lane and have not left it.</summary>
        public int References { get; set; }
    }

    /// <summary>A chunk's place in its lane: the slots its jobs draw on, and whether it may start jobs at all.</summary>
    internal readonly record struct LaneTurn(LocalLanes? Owner, (string, string)? Key, object? LaneObject, LaneSlots Slots, int Sequence, bool Admitted) : IDisposable
    {
        public void Dispose()
        {
            if (Owner is not null && Key is { } key && LaneObject is Lane lane)
            {
                Owner.Leave(key, lane, Sequence);
            }
        }
    }
}
