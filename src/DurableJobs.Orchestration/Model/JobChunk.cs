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

    /// <summary>Slots of the batch's cap this chunk holds: the most of its jobs running at once.</summary>
    [JsonPropertyName("parallelism")]
    public required int Parallelism { get; init; }

    /// <summary>The batch's absolute deadline (UTC); work still running then is stopped.</summary>
    [JsonPropertyName("deadlineUtc")]
    public required DateTime DeadlineUtc { get; init; }

    /// <summary>Per-job retry policy.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec Retry { get; init; } = RetrySpec.None;

    /// <summary>The batch's trace context (<see cref="BatchOrchestrationInput.TraceParent"/>), copied by the orchestrator.</summary>
    [JsonPropertyName("traceParent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }
}
