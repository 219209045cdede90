using DurableJobs.Orchestration.Model;

namespace DurableJobs.Client;

/// <summary>How the client turns requests into orchestrations.</summary>
public sealed class BatchClientOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Client";

    /// <summary>Seconds of work a chunk should carry once job durations are known (see <see cref="ChunkingOptions"/>).</summary>
    public double TargetChunkSeconds { get; set; } = 1;

    /// <summary>Most jobs in one chunk.</summary>
    public int MaxJobsPerChunk { get; set; } = 1_000;

    /// <summary>Fewest lanes a batch's cap splits into (see <see cref="ChunkingOptions.MinLanes"/>).</summary>
    public int MinLanes { get; set; } = 4;

    /// <summary>Slots a lane aims at once the cap is large (see <see cref="ChunkingOptions.SlotsPerLane"/>).</summary>
    public int SlotsPerLane { get; set; } = 50;

    /// <summary>Most lanes of one batch (see <see cref="ChunkingOptions.MaxLanes"/>).</summary>
    public int MaxLanes { get; set; } = 64;

    /// <summary>Chunks granted to a lane beyond the one it runs; 0 is chunk-at-a-time (see <see cref="ChunkingOptions.ChunksAheadPerLane"/>).</summary>
    public int ChunksAheadPerLane { get; set; } = 1;

    /// <summary>Most jobs one orchestration runs itself; larger batches run as consecutive parts (sub-orchestrations).</summary>
    public int MaxJobsPerOrchestration { get; set; } = 20_000;

    /// <summary>When above 0, every chunk carries exactly this many jobs (1 = one activity per job).</summary>
    public int FixedJobsPerChunk { get; set; }

    /// <summary>How long work may take to stop after a deadline or cancel before the batch writes it off.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a submission may hold a new batch id (store its jobs, start the batch) before another submission of
    /// the id may take it over, on the view that the first one's process stopped.
    /// </summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The chunking carried in each orchestration's input.</summary>
    internal ChunkingOptions ToChunking() => new()
    {
        TargetChunkSeconds = TargetChunkSeconds,
        MaxJobsPerChunk = Math.Max(1, MaxJobsPerChunk),
        MinLanes = Math.Max(1, MinLanes),
        SlotsPerLane = Math.Max(1, SlotsPerLane),
        MaxLanes = Math.Max(1, MaxLanes),
        ChunksAheadPerLane = Math.Max(0, ChunksAheadPerLane),
        FixedJobsPerChunk = Math.Max(0, FixedJobsPerChunk),
        MaxJobsPerOrchestration = Math.Max(1, MaxJobsPerOrchestration),
        UnmeasuredAheadJobsPerSlot = ChunkingOptions.DefaultUnmeasuredAheadJobsPerSlot,
        TailChunkSeconds = Math.Min(ChunkingOptions.DefaultTailChunkSeconds, TargetChunkSeconds),
    };
}
