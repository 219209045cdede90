using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Cuts a batch into chunks (see <see cref="ChunkingOptions"/> for the rule). The cap is split into lanes,
/// at most <see cref="ChunkingOptions.MaxChunksInFlight"/>, each with a fixed share; a lane runs one chunk at a
/// time, so the shares in flight never add up to more than the cap. Deterministic: it only uses what the
/// orchestration's history holds (chunk summaries), so replays plan the same chunks.
/// </summary>
internal sealed class ChunkPlanner
{
    private readonly ChunkingOptions options;
    private readonly int[] laneParallelism;
    private readonly bool[] laneBusy;
    private readonly int end;
    private double measuredMilliseconds;
    private int measuredJobs;

    public ChunkPlanner(int start, int count, int maxParallel, ChunkingOptions options)
    {
        NextIndex = start;
        end = start + count;
        int jobCount = count;
        this.options = options;
        int lanes = Math.Max(1, Math.Min(Math.Min(maxParallel, Math.Max(1, options.MaxChunksInFlight)), Math.Max(1, jobCount)));
        laneParallelism = new int[lanes];
        for (int i = 0; i < lanes; i++)
        {
            laneParallelism[i] = (maxParallel / lanes) + (i < maxParallel % lanes ? 1 : 0);
        }

        laneBusy = new bool[lanes];
    }

    /// <summary>Index of the first job not yet scheduled.</summary>
    public int NextIndex { get; private set; }

    public bool HasMore => NextIndex < end;

    /// <summary>The next chunk for a free lane, or null when no lane is free or no job is left.</summary>
    public ChunkPlan? TryNext()
    {
        if (!HasMore)
        {
            return null;
        }

        int lane = Array.IndexOf(laneBusy, false);
        if (lane < 0)
        {
            return null;
        }

        int parallelism = laneParallelism[lane];
        int remaining = end - NextIndex;
        int size = Math.Min(remaining, Math.Max(1, SizeFor(parallelism, remaining)));
        var plan = new ChunkPlan(NextIndex, size, lane, parallelism);
        laneBusy[lane] = true;
        NextIndex += size;
        return plan;
    }

    /// <summary>Frees the lane of a finished chunk and learns how long its jobs took.</summary>
    public void Finished(ChunkPlan plan, ChunkSummary? summary)
    {
        laneBusy[plan.Lane] = false;
        int measured = summary is null ? 0 : summary.Succeeded + summary.Failed - summary.AlreadyRecorded;
        if (summary is not null && measured > 0)
        {
            measuredMilliseconds += summary.BusyMilliseconds;
            measuredJobs += measured;
        }
    }

    private int SizeFor(int parallelism, int remaining)
    {
        if (options.FixedJobsPerChunk > 0)
        {
            return options.FixedJobsPerChunk;
        }

        if (measuredJobs == 0)
        {
            // Nothing measured yet: one job per slot, which is also the smallest useful chunk.
            return parallelism;
        }

        double averageMs = Math.Max(0.01, measuredMilliseconds / measuredJobs);
        double wanted = options.TargetChunkSeconds * 1_000 * parallelism / averageMs;
        int size = (int)Math.Clamp(Math.Round(wanted), parallelism, Math.Max(parallelism, options.MaxJobsPerChunk));

        // Near the end, share what is left among the lanes so they finish together instead of one lagging.
        int fairShare = (int)Math.Ceiling(remaining / (double)laneParallelism.Length);
        return Math.Min(size, Math.Max(parallelism, fairShare));
    }
}
