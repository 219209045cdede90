using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>What the batch orchestrator receives: a validated request with every default resolved.</summary>
public sealed record BatchOrchestrationInput
{
    /// <summary>The batch id, also the orchestration instance id.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>The jobs, ids resolved.</summary>
    [JsonPropertyName("jobs")]
    public required IReadOnlyList<ScheduledJob> Jobs { get; init; }

    /// <summary>Most jobs in flight at once.</summary>
    [JsonPropertyName("maxParallel")]
    public required int MaxParallel { get; init; }

    /// <summary>Seconds from the orchestration's start to the deadline.</summary>
    [JsonPropertyName("deadlineSeconds")]
    public required double DeadlineSeconds { get; init; }

    /// <summary>Per-job retry policy.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec Retry { get; init; } = RetrySpec.None;

    /// <summary>Jobs one activity carries (1 = one activity per job).</summary>
    [JsonPropertyName("jobsPerChunk")]
    public int JobsPerChunk { get; init; } = 1;

    /// <summary>How long in-flight work may take to stop after the deadline or a cancel before it is written off.</summary>
    [JsonPropertyName("stopGraceSeconds")]
    public double StopGraceSeconds { get; init; } = 30;
}
