using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>
/// How the orchestrator cuts a batch into job activities. The cap is split into lanes, each with a fixed share of it
/// (its slots); a chunk is a range of jobs run by one lane. The first chunks carry one job per slot to measure how
/// long jobs take, then each chunk carries about <see cref="TargetChunkSeconds"/> of work: short jobs travel in big
/// chunks (up to <see cref="MaxJobsPerChunk"/>), long jobs in small ones, so a message and a history row are paid per
/// chunk, not per job, while cancel and deadline still reach every job through its token. A lane has its next
/// chunk granted ahead (<see cref="ChunksAheadPerLane"/>), which takes over the lane's slots one by one as the jobs
/// of the chunk before it finish, so the slots are refilled as each job ends, not when a chunk and an orchestration
/// round trip have.
/// </summary>
internal sealed record ChunkingOptions
{
    /// <summary>Seconds of work a chunk should carry once job durations are known.</summary>
    [JsonPropertyName("targetChunkSeconds")]
    public double TargetChunkSeconds { get; init; } = 1;

    /// <summary>Most jobs in one chunk.</summary>
    [JsonPropertyName("maxJobsPerChunk")]
    public int MaxJobsPerChunk { get; init; } = 1_000;

    /// <summary>
    /// Fewest lanes a batch's cap splits into (fewer only when the cap or the batch is smaller): lanes are what
    /// several worker processes share a batch by. Not more: every chunk of every lane costs an activity message, its
    /// completion, an orchestrator episode and four reads, so a small cap cut into many narrow lanes pays that many
    /// times over for the same work. At 8 (the default until 2026-12-02, still in the inputs of batches started
    /// before, which always carry it), lanes of 1–2 slots at cap 10 kept the emulator saturated: 10 ms jobs at cap 10
    /// reached 0.81 of the limit against 0.87 at 4, and ten batches sharing a named limit of 7 on three workers held it
    /// 0.84 of the time against 0.98 (docs/benchmarks.md). 2 held the limit as well but spread the batches' shares of it
    /// further (7–14 % against an equal 10 %).
    /// </summary>
    [JsonPropertyName("minLanes")]
    public int MinLanes { get; init; } = 4;

    /// <summary>Slots a lane aims at once the cap is large: a cap of 1,000 makes 20 lanes of 50.</summary>
    [JsonPropertyName("slotsPerLane")]
    public int SlotsPerLane { get; init; } = 50;

    /// <summary>Most lanes of one batch (of one part), whatever the cap.</summary>
    [JsonPropertyName("maxLanes")]
    public int MaxLanes { get; init; } = 64;

    /// <summary>
    /// Chunks granted to a lane beyond the one it runs. 1 (the default) keeps the lane's slots busy across the
    /// orchestration round trip between chunks; 0 is chunk-at-a-time (a lane's slots idle from its chunk's last
    /// jobs until the next chunk arrives), kept for comparison.
    /// </summary>
    [JsonPropertyName("chunksAheadPerLane")]
    public int ChunksAheadPerLane { get; init; } = 1;

    /// <summary>
    /// Most jobs one orchestration runs itself. A larger batch runs as consecutive parts (sub-orchestrations) of
    /// at most this many jobs, each with the whole cap, so no single history grows past a bound.
    /// </summary>
    [JsonPropertyName("maxJobsPerOrchestration")]
    public int MaxJobsPerOrchestration { get; init; } = 20_000;

    /// <summary>
    /// Jobs per slot of a chunk granted ahead before any job has been measured (a lane's first chunk always carries
    /// one job per slot, to measure). With one per slot, a lane of short jobs holds two jobs' worth of work per slot
    /// until the first measurement comes back, so its slots idle for most of that round trip (10 ms jobs: a lane sat
    /// nearly empty for the first 0.8 s of a batch on a loaded machine); with more, the chunk granted ahead covers it.
    /// Not more than 3: whatever is granted before the first measurement runs before any control can act on a
    /// measurement (a failure budget is judged on chunk results; with 8, 1 s jobs that all failed overshot a budget of
    /// 10 by 26 instead of at most 12), and it is the only chunk sized blind to the jobs' duration.
    /// Null in the inputs of batches started before it existed, which replay as they ran (one job per slot).
    /// </summary>
    [JsonPropertyName("unmeasuredAheadJobsPerSlot")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? UnmeasuredAheadJobsPerSlot { get; init; }

    /// <summary>What new batches get for <see cref="UnmeasuredAheadJobsPerSlot"/>.</summary>
    public const int DefaultUnmeasuredAheadJobsPerSlot = 3;

    /// <summary>
    /// Near the end of a batch each chunk takes its lane's share of what is left (guided self-scheduling, so the lanes
    /// run out of work together), but never less than this many seconds of measured work per slot. Without the floor
    /// the last chunks shrank to one job per slot, and a lane of 10 ms jobs ran two jobs per orchestration round trip
    /// (~100 ms on a loaded 2-core machine): the last second or more of a batch ran about one job at a time whatever
    /// the cap (10 ms × cap 10: the last 1 s at 0.1 of the cap). A chunk granted ahead that carries at least a round trip
    /// of work keeps the lane busy until the next grant; the lanes then finish within about this much of each other.
    /// The share is also in proportion to the lane's slots, so a lane of two slots and one of one finish together.
    /// Null in the inputs of batches started before it existed, which replay as they ran (shares by job count, down to
    /// one job per slot).
    /// </summary>
    [JsonPropertyName("tailChunkSeconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TailChunkSeconds { get; init; }

    /// <summary>What new batches get for <see cref="TailChunkSeconds"/>: more than the round trip between a chunk's end and the grant after it.</summary>
    public const double DefaultTailChunkSeconds = 0.25;

    /// <summary>When above 0, every chunk carries exactly this many jobs (no adaptation).</summary>
    [JsonPropertyName("fixedJobsPerChunk")]
    public int FixedJobsPerChunk { get; init; }

    /// <summary>
    /// Only in the inputs of batches started by 0.1 builds, which ran chunk-at-a-time over at most this many lanes:
    /// kept so such a batch, still in flight when a new build is deployed, replays the chunks it scheduled.
    /// </summary>
    [JsonPropertyName("maxChunksInFlight")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxChunksInFlight { get; init; }

    /// <summary>True for the input of a batch started before lanes had chunks granted ahead.</summary>
    [JsonIgnore]
    public bool IsChunkAtATime => MaxChunksInFlight is not null;

    /// <summary>How many lanes a cap of <paramref name="maxParallel"/> over <paramref name="jobs"/> jobs splits into.</summary>
    public int LanesFor(int maxParallel, int jobs)
    {
        if (MaxChunksInFlight is { } legacy)
        {
            return Math.Max(1, Math.Min(Math.Min(maxParallel, Math.Max(1, legacy)), Math.Max(1, jobs)));
        }

        int byCap = (int)Math.Ceiling(maxParallel / (double)Math.Max(1, SlotsPerLane));
        int lanes = Math.Min(Math.Max(Math.Max(1, MinLanes), byCap), Math.Max(1, MaxLanes));
        return Math.Max(1, Math.Min(lanes, Math.Min(maxParallel, jobs)));
    }
}
