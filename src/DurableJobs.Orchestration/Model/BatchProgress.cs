using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>The orchestration's custom status: live counts a client can poll.</summary>
public sealed record BatchProgress
{
    /// <summary>Counts per status.</summary>
    [JsonPropertyName("summary")]
    public required BatchSummary Summary { get; init; }

    /// <summary>The cap.</summary>
    [JsonPropertyName("maxParallel")]
    public int MaxParallel { get; init; }

    /// <summary>The absolute deadline (UTC).</summary>
    [JsonPropertyName("deadlineUtc")]
    public DateTime DeadlineUtc { get; init; }

    /// <summary>The part running now, for a batch split into parts; its own progress adds to <see cref="Summary"/>.</summary>
    [JsonPropertyName("currentPart")]
    public string? CurrentPart { get; init; }

    /// <summary>Set while a delayed batch waits for its start (UTC): the batch is Scheduled.</summary>
    [JsonPropertyName("startAtUtc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? StartAtUtc { get; init; }

    /// <summary>Set once the deadline passed or a cancel arrived: Running work is being stopped.</summary>
    [JsonPropertyName("stopping")]
    public BatchStatus? Stopping { get; init; }

    /// <summary>Why the batch is stopping, when its failure budget was spent. Absent otherwise.</summary>
    [JsonPropertyName("reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>True while a client has the batch paused: no new chunk is granted. Absent otherwise.</summary>
    [JsonPropertyName("paused")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Paused { get; init; }

    /// <summary>The cap changes while the batch ran, in order; absent when its cap never changed.</summary>
    [JsonPropertyName("capSteps")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CapStep>? CapSteps { get; init; }
}
