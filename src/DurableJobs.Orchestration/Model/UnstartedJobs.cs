using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>The input of the activity that records a final result for jobs a stopped batch never started.</summary>
internal sealed record UnstartedJobs
{
    /// <summary>The batch.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>Where the jobs are in the batch store.</summary>
    [JsonPropertyName("jobsKey")]
    public required string JobsKey { get; init; }

    /// <summary>The job ranges (start, count).</summary>
    [JsonPropertyName("ranges")]
    public required IReadOnlyList<JobRange> Ranges { get; init; }

    /// <summary>TimedOut or Cancelled.</summary>
    [JsonPropertyName("status")]
    public required JobStatus Status { get; init; }

    /// <summary>When the batch stopped (UTC), recorded as the jobs' finish time.</summary>
    [JsonPropertyName("stoppedAtUtc")]
    public required DateTime StoppedAtUtc { get; init; }
}
