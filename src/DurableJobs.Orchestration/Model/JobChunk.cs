using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>The input of one job activity: a range of a batch's jobs and how many of them may run at once.</summary>
internal sealed record JobChunk
{
    /// <summary>The batch.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>Where the jobs are in the batch store.</summary>
    [JsonPropertyName("jobsKey")]
    public required string JobsKey { get; init; }

    /// <summary>Index of the first job.</summary>
    [JsonPropertyName("start")]
    public required int Start { get; init; }

    /// <summary>Number of jobs.</summary>
    [JsonPropertyName("count")]
    public required int Count { get; init; }

    /// <summary>
    /// Slots of the batch's cap the chunk's lane holds: the most of the lane's jobs running at once, whichever of its
    /// chunks they belong to.
    /// </summary>
    [JsonPropertyName("parallelism")]
    public required int Parallelism { get; init; }

    /// <summary>
    /// The lane, unique within the batch (its orchestration's first job and the lane's number). Null: the chunk holds
    /// its slots alone and starts at once (chunks scheduled before lanes were granted ahead).
    /// </summary>
    [JsonPropertyName("lane")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Lane { get; init; }

    /// <summary>
    /// The chunk's place in its lane: unless <see cref="Ready"/> (or the first), its jobs start only in slots the chunk
    /// before it (<c>Sequence - 1</c>) frees in the same process.
    /// </summary>
    [JsonPropertyName("sequence")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Sequence { get; init; }

    /// <summary>The batch's absolute deadline (UTC); work still running then is stopped.</summary>
    [JsonPropertyName("deadlineUtc")]
    public required DateTime DeadlineUtc { get; init; }

    /// <summary>
    /// Every chunk before this one in its lane had finished when it was granted: it starts at once, with the lane's
    /// slots, in whichever process gets it.
    /// </summary>
    [JsonPropertyName("ready")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Ready { get; init; }

    /// <summary>Per-job retry policy.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec Retry { get; init; } = RetrySpec.None;

    /// <summary>The batch's trace context (<see cref="BatchOrchestrationInput.TraceParent"/>), copied by the orchestrator.</summary>
    [JsonPropertyName("traceParent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }

    /// <summary>The batch's named limits per job type (<see cref="BatchOrchestrationInput.Limits"/>). Absent: none.</summary>
    [JsonPropertyName("limits")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Limits { get; init; }

    /// <summary>The batch's priority in the turns of its named limits (<see cref="BatchOrchestrationInput.Priority"/>). Absent: the default.</summary>
    [JsonPropertyName("priority")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Priority { get; init; }

    /// <summary>The batch's tenant (<see cref="BatchOrchestrationInput.Tenant"/>). Absent: the batch is its own tenant.</summary>
    [JsonPropertyName("tenant")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tenant { get; init; }
}
