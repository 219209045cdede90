using System.Diagnostics;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Cuts a batch into chunks (see <see cref="ChunkingOptions"/> for the rule). The cap is split into lanes
/// (<see cref="ChunkingOptions.LanesFor"/>), each with a fixed share of it. A lane holds its running chunk and up to
/// <see cref="ChunkingOptions.ChunksAheadPerLane"/> granted ahead; the chunks of a lane share the lane's slots (the
/// executor starts a chunk's jobs only in slots its predecessor freed), so the lanes' shares, which add up to the
/// cap, bound the jobs running however many chunks are in flight. Deterministic: it only uses what the
/// orchestration's history holds (chunk summaries), so replays plan the same chunks.
/// </summary>
internal sealed class ChunkPlanner
{
    /// <summary>The chunking rule of the batch.</summary>
    private readonly ChunkingOptions options;

    /// <summary>Each lane's share of the cap; the shares of the lanes not retired add up to the cap.</summary>
    private readonly List<int> laneParallelism = [];

    /// <summary>Sequences of each lane's chunks granted and not finished (deferred ones included).</summary>
    private readonly List<SortedSet<int>> laneOpen = [];

    /// <summary>Chunks handed back by a worker (<see cref="ChunkSummary.Deferred"/>), to grant again once ready.</summary>
    private readonly List<ChunkPlan> deferred = [];

    /// <summary>The sequence number the next chunk of each lane gets.</summary>
    private readonly List<int> laneNextSequence = [];

    /// <summary>
    /// Lanes granted nothing more: those before a cap decrease. A lane is never used again once retired, so a new
    /// lane's id is one no chunk ever had, and its first chunk has no predecessor to wait for.
    /// </summary>
    private readonly List<bool> laneRetired = [];

    /// <summary>A lowered cap waiting for the retired lanes to drain before its lanes open.</summary>
    private int? pendingCap;

    /// <summary>Most chunks of one lane in flight: the running one and those granted ahead.</summary>
    private readonly int perLane;

    /// <summary>One past the last job of the range.</summary>
    private readonly int end;

    /// <summary>Summed busy time of the jobs measured so far, for chunk sizing.</summary>
    private double measuredMilliseconds;

    /// <summary>Jobs measured so far.</summary>
    private int measuredJobs;

    public ChunkPlanner(int start, int count, int maxParallel, ChunkingOptions options)
    {
        NextIndex = start;
        end = start + count;
        this.options = options;
        perLane = options.IsChunkAtATime ? 1 : 1 + Math.Max(0, options.ChunksAheadPerLane);
        Cap = Math.Max(1, maxParallel);
        OpenLanes(Cap, Math.Max(1, count));
    }

    /// <summary>The cap the lanes open now add up to (after a decrease: the new cap, once the old lanes drained).</summary>
    public int Cap { get; private set; }

    /// <summary>True while a lowered cap waits for the old lanes' chunks to finish; nothing is granted meanwhile.</summary>
    public bool IsDraining => pendingCap is not null;

    /// <summary>
    /// Changes the cap. A rise opens lanes for the difference at once (the old lanes keep their shares, so the sum is
    /// the new cap). A fall retires every lane: nothing more is granted to them, and once their chunks have finished
    /// (<see cref="Finished"/>) lanes for the new cap open. Jobs already running are never stopped, so until then at most
    /// the old cap run, and no chunk of a new lane ever runs beside one of an old lane.
    /// </summary>
    public void ChangeCap(int maxParallel)
    {
        maxParallel = Math.Max(1, maxParallel);
        int remaining = Math.Max(1, end - NextIndex);
        if (pendingCap is not null)
        {
            // Still draining for an earlier fall: the latest cap is the one that opens.
            pendingCap = maxParallel;
            return;
        }

        if (maxParallel > Cap)
        {
            OpenLanes(maxParallel - Cap, remaining);
            Cap = maxParallel;
        }
        else if (maxParallel < Cap)
        {
            for (int i = 0; i < laneRetired.Count; i++)
            {
                laneRetired[i] = true;
            }

            pendingCap = maxParallel;
            OpenPendingIfDrained();
        }
    }

    /// <summary>Index of the first job not yet scheduled.</summary>
    public int NextIndex { get; private set; }

    public bool HasMore => NextIndex < end;

    /// <summary>Chunks deferred and not granted again yet.</summary>
    public IReadOnlyList<ChunkPlan> Deferred => deferred;

    /// <summary>Lanes opened so far (retired ones included).</summary>
    public int LaneCount => laneParallelism.Count;

    /// <summary>The share of the cap of <paramref name="lane"/>.</summary>
    public int ParallelismOf(int lane) => laneParallelism[lane];

    /// <summary>
    /// The next chunk, for the lane with the fewest chunks in flight (an idle lane before one that only lacks a chunk
    /// ahead), or null when every lane is full or no job is left.
    /// </summary>
    public ChunkPlan? TryNext()
    {
        // A deferred chunk first, once every chunk before it in its lane has finished: granted again, ready. (A retired
        // lane's deferred chunk too: it was granted before the cap fell, and the lane's slots are still counted.)
        int again = deferred.FindIndex(p => laneOpen[p.Lane].Min == p.Sequence);
        if (again >= 0)
        {
            ChunkPlan ready = deferred[again] with { Ready = true };
            deferred.RemoveAt(again);
            return ready;
        }

        if (!HasMore)
        {
            return null;
        }

        int lane = -1;
        for (int i = 0; i < laneOpen.Count; i++)
        {
            if (!laneRetired[i] && laneOpen[i].Count < perLane && (lane < 0 || laneOpen[i].Count < laneOpen[lane].Count))
            {
                lane = i;
            }
        }

        if (lane < 0)
        {
            return null;
        }

        int parallelism = laneParallelism[lane];
        int remaining = end - NextIndex;
        int size = Math.Min(remaining, Math.Max(1, SizeFor(parallelism, remaining, laneNextSequence[lane])));
        // With nothing of its lane still open the chunk is ready: it may start at once wherever it lands.
        var plan = new ChunkPlan(NextIndex, size, lane, parallelism, laneNextSequence[lane], Ready: laneOpen[lane].Count == 0 && laneNextSequence[lane] > 0);
        laneOpen[lane].Add(laneNextSequence[lane]++);
        NextIndex += size;
        return plan;
    }

    /// <summary>
    /// Frees the place of a finished chunk in its lane and learns how long its jobs took; a deferred chunk keeps its
    /// place and waits to be granted again.
    /// </summary>
    public void Finished(ChunkPlan plan, ChunkSummary? summary)
    {
        if (summary is { Deferred: true })
        {
            deferred.Add(plan);
            return;
        }

        laneOpen[plan.Lane].Remove(plan.Sequence);
        OpenPendingIfDrained();
        int measured = summary is null ? 0 : summary.Succeeded + summary.Failed - summary.AlreadyRecorded;
        if (summary is not null && measured > 0)
        {
            measuredMilliseconds += summary.BusyMilliseconds;
            measuredJobs += measured;
        }
    }

    private int SizeFor(int parallelism, int remaining, int sequence)
    {
        if (options.FixedJobsPerChunk > 0)
        {
            return options.FixedJobsPerChunk;
        }

        int size;
        double averageMs = 0;
        if (measuredJobs == 0)
        {
            // Nothing measured yet: a lane's first chunk carries one job per slot (the smallest useful chunk, and
            // the quickest measurement); a chunk granted ahead of it carries more, so that short jobs keep the slots
            // busy until the measurement is back (see ChunkingOptions.UnmeasuredAheadJobsPerSlot).
            if (sequence == 0 || options.UnmeasuredAheadJobsPerSlot is not > 1)
            {
                return parallelism;
            }

            size = (int)Math.Min((long)parallelism * options.UnmeasuredAheadJobsPerSlot.Value, Math.Max(parallelism, options.MaxJobsPerChunk));
        }
        else
        {
            averageMs = Math.Max(0.01, measuredMilliseconds / measuredJobs);
            double wanted = options.TargetChunkSeconds * 1_000 * parallelism / averageMs;
            size = (int)Math.Clamp(Math.Round(wanted), parallelism, Math.Max(parallelism, options.MaxJobsPerChunk));
        }

        if (options.TailChunkSeconds is { } tailSeconds && averageMs > 0)
        {
            // Near the end, the lane's share of what is left by its slots, but at least a round trip's worth of work per
            // slot (see ChunkingOptions.TailChunkSeconds).
            // The open lanes' slots add up to the cap (see Cap): a lane is only granted to while not retired.
            Debug.Assert(Cap == laneParallelism.Where((_, i) => !laneRetired[i]).Sum(), "the open lanes' slots do not add up to the cap");
            long share = (long)Math.Ceiling((double)remaining * parallelism / ((double)Cap * perLane));
            long floor = (long)parallelism * (long)Math.Ceiling(tailSeconds * 1_000 / averageMs);
            return (int)Math.Min(size, Math.Max(parallelism, Math.Max(share, floor)));
        }

        // Near the end, share what is left among every place in flight so the lanes finish together instead of one
        // lagging (guided self-scheduling).
        int open = Math.Max(1, laneRetired.Count(r => !r));
        int fairShare = (int)Math.Ceiling(remaining / (double)(open * perLane));
        return Math.Min(size, Math.Max(parallelism, fairShare));
    }

    /// <summary>Opens lanes whose shares add up to <paramref name="slots"/>, numbered after every lane before them.</summary>
    private void OpenLanes(int slots, int jobs)
    {
        int lanes = options.LanesFor(slots, jobs);
        for (int i = 0; i < lanes; i++)
        {
            laneParallelism.Add((slots / lanes) + (i < slots % lanes ? 1 : 0));
            laneOpen.Add([]);
            laneNextSequence.Add(0);
            laneRetired.Add(false);
        }
    }

    private void OpenPendingIfDrained()
    {
        if (pendingCap is { } cap && laneOpen.All(open => open.Count == 0))
        {
            pendingCap = null;
            Cap = cap;
            OpenLanes(cap, Math.Max(1, end - NextIndex));
        }
    }
}
