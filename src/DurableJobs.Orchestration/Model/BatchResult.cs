using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>The orchestration's output: how the batch ended. Per-job results are in the batch store.</summary>
public sealed record BatchResult
{
    /// <summary>The batch.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>Completed, TimedOut or Cancelled.</summary>
    [JsonPropertyName("status")]
    public required BatchStatus Status { get; init; }

    /// <summary>Counts per status.</summary>
    [JsonPropertyName("summary")]
    public required BatchSummary Summary { get; init; }

    /// <summary>The cap the batch ran with.</summary>
    [JsonPropertyName("maxParallel")]
    public int MaxParallel { get; init; }

    /// <summary>When the batch stopped scheduling, if a deadline or cancel stopped it (UTC).</summary>
    [JsonPropertyName("stoppedAtUtc")]
    public DateTime? StoppedAtUtc { get; init; }

    /// <summary>Why an Aborted batch stopped (its failure budget). Absent otherwise.</summary>
    [JsonPropertyName("reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>The cap changes while the batch ran, in order; absent when its cap never changed.</summary>
    [JsonPropertyName("capSteps")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CapStep>? CapSteps { get; init; }
}
