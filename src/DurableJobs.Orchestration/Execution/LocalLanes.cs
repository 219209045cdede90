using System.Diagnostics;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The lanes with chunks in this process, and each chunk's turn in its lane. A chunk granted ahead may start jobs once
/// the chunk before it in the lane (sequence - 1) is admitted here and has started all its jobs: both draw on the same
/// <see cref="LaneSlots"/>, so the new chunk's jobs start exactly as the old chunk's jobs free slots, and never before
/// a job of an older chunk. When the predecessor runs in another process, the chunk is handed the lane once that
/// process records the lane finished (<see cref="Signals.IBatchCancellationSignals.LaneFinishedAsync"/>, written when
/// the lane's last chunk there ends): every job of the lane has ended then, so all its slots are free here. A chunk
/// that gets neither within <see cref="JobExecutionOptions.LaneDeferAfter"/> (the predecessor may be a message behind)
/// and, where handovers are on, <see cref="JobExecutionOptions.LaneHandoverWait"/> is deferred: it runs nothing and
/// goes back to the orchestrator, which grants it again as <see cref="JobChunk.Ready"/> once every chunk before it in
/// the lane has finished. So no instant has more of a lane's jobs running than its slots, wherever its chunks land, and
/// the lanes' shares, which add up to the cap, bound the batch cluster-wide.
/// </summary>
/// <remarks>
/// Why a chunk granted ahead does not simply wait for a predecessor elsewhere: it would hold one of this worker's
/// activity slots while it waits, and with few slots (or a predecessor whose worker died, so that its message comes
/// back only after the queue's visibility timeout) every slot can end up held by a waiting chunk while the chunks
/// they wait for sit in the queue. Deferring costs an orchestration round trip for that one chunk — what every chunk
/// cost before chunks were granted ahead — and never blocks.
/// </remarks>
internal sealed class LocalLanes(TimeProvider time, TimeSpan deferAfter, TimeSpan handoverWait = default, int maxHandoverWaits = 0)
{
    /// <summary>Chunks here waiting for a handover now (each holds an activity slot); at most <c>maxHandoverWaits</c>.</summary>
    private int handoverWaits;

    /// <summary>
    /// How long a lane with no chunk here is remembered. A lane's chunks are often short (the first ones of a batch hold
    /// one job per slot), so the chunk granted after the next one regularly arrives when every chunk before it has
    /// already finished here; a forgotten lane would make it sit out the grace and a deferral round trip instead of
    /// starting at once.
    /// </summary>
    internal static readonly TimeSpan IdleLaneRetention = TimeSpan.FromMinutes(1);

    /// <summary>Most often idle lanes are looked for, so entering a lane stays O(1) on average.</summary>
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(10);

    /// <summary>The lanes with a chunk here now or within <see cref="IdleLaneRetention"/>, by batch, submission and lane id.</summary>
    private readonly Dictionary<(string Batch, string JobsKey, string Lane), Lane> lanes = [];

    /// <summary>Guards <see cref="lanes"/>, <see cref="lastSweep"/> and every lane's fields.</summary>
    private readonly Lock gate = new();

    /// <summary>When idle lanes were last looked for.</summary>
    private long lastSweep = time.GetTimestamp();

    /// <summary>Lanes remembered here (with or without a chunk), for tests.</summary>
    internal int LaneCountForTests
    {
        get
        {
            lock (gate)
            {
                return lanes.Count;
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="chunk"/>'s turn in its lane. The turn is <see cref="LaneTurn.Admitted"/> (run the jobs
    /// in <see cref="LaneTurn.Slots"/>), <see cref="LaneTurn.Deferred"/> (run nothing, record nothing, report it), or
    /// neither when <paramref name="stop"/> fired first: the chunk's jobs then must not start (they are recorded
    /// stopped). Dispose the turn when the chunk is done.
    /// </summary>
    /// <param name="chunk">The chunk, with its lane and sequence.</param>
    /// <param name="jobs">Its jobs that will take a slot.</param>
    /// <param name="stop">The chunk's stop (cancel, deadline, shutdown).</param>
    /// <param name="finishedElsewhere">
    /// Waits until the lane is recorded finished through a sequence by any process (null: no handovers, a chunk whose
    /// predecessor is elsewhere is deferred after the grace).
    /// </param>
    public async Task<LaneTurn> EnterAsync(JobChunk chunk, int jobs, CancellationToken stop, Func<int, CancellationToken, Task>? finishedElsewhere = null)
    {
        if (chunk.Lane is null)
        {
            // A chunk from before lanes were granted ahead holds its slots alone.
            return new LaneTurn(null, null, new LaneSlots(Math.Max(1, chunk.Parallelism)), chunk.Sequence, Admitted: true, Deferred: false, HandedOver: false);
        }

        // Keyed by submission too: a batch deleted and submitted again under its id must not inherit its lanes' turns.
        (string, string, string) key = (chunk.BatchId, chunk.JobsKey, chunk.Lane);
        Lane lane;
        lock (gate)
        {
            SweepIdleLanes();
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
            Turn turn = await WaitForTurnAsync(chunk, jobs, lane, stop, finishedElsewhere).ConfigureAwait(false);
            return new LaneTurn(this, lane, lane.Slots, chunk.Sequence, turn is Turn.Admitted or Turn.HandedOver, turn == Turn.Deferred, turn == Turn.HandedOver);
        }
        catch
        {
            Leave(lane, chunk.Sequence);
            throw;
        }
    }

    /// <summary>One job of an admitted chunk took its slot (or was stopped before it could): one fewer to start.</summary>
    public void Started(LaneTurn turn)
    {
        if (turn.Lane is not { } lane || !turn.Admitted)
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

    private async Task<Turn> WaitForTurnAsync(JobChunk chunk, int jobs, Lane lane, CancellationToken stop, Func<int, CancellationToken, Task>? finishedElsewhere)
    {
        int sequence = chunk.Sequence;
        long waitingSince = time.GetTimestamp();
        bool handovers = finishedElsewhere is not null && handoverWait > TimeSpan.Zero && maxHandoverWaits > 0;
        TimeSpan giveUpAfter = deferAfter;

        // The wait for the lane to be recorded finished elsewhere, once started.
        Task? elsewhere = null;

        // Whether this chunk holds one of the process's handover waits: set before the wait starts, not derived from it,
        // so a wait that throws as it starts still gives its reservation back.
        bool reserved = false;

        // Ends that wait once this chunk's turn is decided.
        using var decided = CancellationTokenSource.CreateLinkedTokenSource(stop);
        try
        {
            while (true)
            {
                Task changed;
                bool predecessorHere;
                lock (gate)
                {
                    predecessorHere = lane.AdmittedThrough >= sequence - 1;
                    if (sequence == 0 || chunk.Ready || (predecessorHere && !lane.HasUnstartedBefore(sequence)))
                    {
                        Admit(lane, sequence, jobs);
                        return Turn.Admitted;
                    }

                    if (!predecessorHere && elsewhere is { IsCompletedSuccessfully: true } && lane.Unstarted.Count == 0 && lane.Slots.IsIdle)
                    {
                        // Every chunk before this one has finished, the last of them in another process: all the lane's slots
                        // are free, wherever they were used (a chunk of the lane before this one that ran here ended too, so
                        // the check of this process's slots only guards against a delivery that outlived its redelivery).
                        Admit(lane, sequence, jobs);
                        return Turn.HandedOver;
                    }

                    changed = lane.Changed.Task;
                }

                if (stop.IsCancellationRequested)
                {
                    return Turn.Stopped;
                }

                // A predecessor admitted here runs here: waiting for its jobs to start cannot block. One that is not here
                // yet gets a short grace (it may be a message behind this one) and, with handovers, the wait for its process
                // to record the lane finished; then this chunk goes back.
                TimeSpan left = giveUpAfter - time.GetElapsedTime(waitingSince);
                if (!predecessorHere && left <= TimeSpan.Zero)
                {
                    return Turn.Deferred;
                }

                if (handovers && !predecessorHere && elsewhere is null && TryReserveHandoverWait())
                {
                    reserved = true;
                    giveUpAfter = deferAfter + handoverWait;
                    elsewhere = finishedElsewhere!(sequence - 1, decided.Token);
                    if (elsewhere.IsCompleted)
                    {
                        continue;
                    }
                }

                try
                {
                    await (predecessorHere
                        ? changed
                        : elsewhere is { IsCompleted: false } ? Task.WhenAny(changed, elsewhere, Task.Delay(left, time, decided.Token)) : Task.WhenAny(changed, Task.Delay(left, time, decided.Token)))
                        .WaitAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return Turn.Stopped;
                }
            }
        }
        finally
        {
            await decided.CancelAsync().ConfigureAwait(false);
            if (reserved)
            {
                Interlocked.Decrement(ref handoverWaits);
            }
        }
    }

    private bool TryReserveHandoverWait()
    {
        if (Interlocked.Increment(ref handoverWaits) <= maxHandoverWaits)
        {
            return true;
        }

        Interlocked.Decrement(ref handoverWaits);
        return false;
    }

    private static void Admit(Lane lane, int sequence, int jobs)
    {
        // Called under the gate.
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

    /// <summary>
    /// Leaves the lane; returns the sequence every chunk of the lane here finished through when none is left here.
    /// <paramref name="abandoned"/>: an admitted chunk that did not end normally (it failed and runs again).
    /// </summary>
    private int? Leave(Lane lane, int sequence, bool abandoned = false)
    {
        lock (gate)
        {
            Debug.Assert(lane.References > 0, "a lane left more often than entered");
            if (abandoned)
            {
                lane.Broken = true;
            }

            // A chunk that ends before starting all its jobs (an error; it is delivered again) no longer holds back later
            // chunks. Its jobs will run again, so the lane is never again recorded finished from here.
            if (lane.Unstarted.Remove(sequence))
            {
                lane.Broken = true;
                Signal(lane);
            }

            if (--lane.References == 0)
            {
                // Remembered for a while (see IdleLaneRetention), then forgotten: a later chunk of the lane that lands
                // here after that is either ready or waits for its predecessor.
                lane.IdleSince = time.GetTimestamp();
                return lane.AdmittedThrough >= 0 && !lane.Broken ? lane.AdmittedThrough : null;
            }

            return null;
        }
    }

    private void SweepIdleLanes()
    {
        // Called under the gate.
        if (time.GetElapsedTime(lastSweep) < SweepEvery)
        {
            return;
        }

        lastSweep = time.GetTimestamp();
        foreach (KeyValuePair<(string, string, string), Lane> entry in lanes)
        {
            if (entry.Value.References == 0 && time.GetElapsedTime(entry.Value.IdleSince) >= IdleLaneRetention)
            {
                // Removing the current entry while enumerating is allowed for Dictionary<TKey, TValue>.
                lanes.Remove(entry.Key);
            }
        }
    }

    /// <summary>How a chunk's wait for its turn ended.</summary>
    private enum Turn
    {
        Admitted,
        HandedOver,
        Deferred,
        Stopped,
    }

    /// <summary>A lane with chunks in this process.</summary>
    internal sealed class Lane(LaneSlots slots)
    {
        public LaneSlots Slots { get; } = slots;

        /// <summary>The highest chunk sequence admitted here (running or finished), -1 for none.</summary>
        public int AdmittedThrough { get; set; } = -1;

        /// <summary>Jobs of admitted chunks that have not taken a slot yet, by chunk sequence.</summary>
        public Dictionary<int, int> Unstarted { get; } = [];

        /// <summary>Completed (and replaced) whenever a chunk is admitted here or starts its last job.</summary>
        public TaskCompletionSource Changed { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True once an admitted chunk here ended abnormally (its jobs may run again): no record of the lane from here.</summary>
        public bool Broken { get; set; }

        /// <summary>Chunks here that entered the lane and have not left it.</summary>
        public int References { get; set; }

        /// <summary>When <see cref="References"/> last fell to zero (a <see cref="TimeProvider"/> timestamp).</summary>
        public long IdleSince { get; set; }

        /// <summary>True while a chunk before <paramref name="sequence"/> still has jobs to start here.</summary>
        public bool HasUnstartedBefore(int sequence) => Unstarted.Keys.Any(s => s < sequence);
    }

    /// <summary>A chunk's place in its lane: the slots its jobs draw on, and whether it may start jobs at all.</summary>
    internal sealed record LaneTurn(LocalLanes? Owner, Lane? Lane, LaneSlots Slots, int Sequence, bool Admitted, bool Deferred, bool HandedOver) : IDisposable
    {
        /// <summary>1 once the chunk left its lane.</summary>
        private int left;

        /// <summary>
        /// Leaves the lane once the chunk's jobs have all ended. Returns the sequence the lane's chunks here finished
        /// through when this was the last of them here (record it for a successor elsewhere), otherwise null.
        /// </summary>
        public int? Leave() =>
            Interlocked.Exchange(ref left, 1) == 0 && Owner is not null && Lane is not null ? Owner.Leave(Lane, Sequence) : null;

        /// <summary>Leaves the lane if <see cref="Leave"/> was not called: an admitted chunk then did not end normally (it runs again).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref left, 1) == 0 && Owner is not null && Lane is not null)
            {
                Owner.Leave(Lane, Sequence, abandoned: Admitted);
            }
        }
    }
}
