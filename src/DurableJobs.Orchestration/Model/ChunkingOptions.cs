using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>
/// How the orchestrator cuts a batch into job activities. The rule: each chunk holds a share of the cap
/// (its parallelism); the first chunks carry one job per slot to measure how long jobs take, then each chunk
/// carries about <see cref="TargetChunkSeconds"/> of work: short jobs travel in big chunks (up to
/// <see cref="MaxJobsPerChunk"/>), long jobs in small ones, so a message and a history row are paid per
/// chunk, not per job, while cancel and deadline still reach every job through its token.
/// </summary>
internal sealed record ChunkingOptions
{
    /// <summary>Seconds of work a chunk should carry once job durations are known.</summary>
    [JsonPropertyName("targetChunkSeconds")]
    public double TargetChunkSeconds { get; init; } = 1;

    /// <summary>Most jobs in one chunk.</summary>
    [JsonPropertyName("maxJobsPerChunk")]
    public int MaxJobsPerChunk { get; init; } = 1_000;

    /// <summary>Most chunks of one batch in flight; the cap is shared among them.</summary>
    [JsonPropertyName("maxChunksInFlight")]
    public int MaxChunksInFlight { get; init; } = 8;

    /// <summary>
    /// Most jobs one orchestration runs itself. A larger batch runs as consecutive parts (sub-orchestrations) of
    /// at most this many jobs, each with the whole cap, so no single history grows past a bound.
    /// </summary>
    [JsonPropertyName("maxJobsPerOrchestration")]
    public int MaxJobsPerOrchestration { get; init; } = 20_000;

    /// <summary>When above 0, every chunk carries exactly this many jobs (no adaptation).</summary>
    [JsonPropertyName("fixedJobsPerChunk")]
    public int FixedJobsPerChunk { get; init; }
}
