using System.Text.Json.Serialization;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Client;

/// <summary>A batch as clients see it.</summary>
public sealed record BatchView
{
    /// <summary>The batch id.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>Where it stands.</summary>
    [JsonPropertyName("status")]
    public required BatchStatus Status { get; init; }

    /// <summary>All jobs.</summary>
    [JsonPropertyName("total")]
    public int Total { get; init; }

    /// <summary>Jobs that succeeded.</summary>
    [JsonPropertyName("succeeded")]
    public int Succeeded { get; init; }

    /// <summary>Jobs that failed.</summary>
    [JsonPropertyName("failed")]
    public int Failed { get; init; }

    /// <summary>Jobs stopped or never started because of the deadline.</summary>
    [JsonPropertyName("timedOut")]
    public int TimedOut { get; init; }

    /// <summary>Jobs stopped or never started because of a cancel.</summary>
    [JsonPropertyName("cancelled")]
    public int Cancelled { get; init; }

    /// <summary>Jobs in flight.</summary>
    [JsonPropertyName("running")]
    public int Running { get; init; }

    /// <summary>Jobs not started.</summary>
    [JsonPropertyName("pending")]
    public int Pending { get; init; }

    /// <summary>The cap.</summary>
    [JsonPropertyName("maxParallel")]
    public int MaxParallel { get; init; }

    /// <summary>When the batch was accepted.</summary>
    [JsonPropertyName("createdAt")]
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its state last changed.</summary>
    [JsonPropertyName("lastUpdatedAt")]
    public DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>When it finished, if it has.</summary>
    [JsonPropertyName("completedAt")]
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Why the batch failed, when <see cref="Status"/> is Failed.</summary>
    [JsonPropertyName("failure")]
    public string? Failure { get; init; }

    /// <summary>When a Scheduled (delayed) batch starts; absent once it has started.</summary>
    [JsonPropertyName("startAt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>Why an Aborted batch stopped (or is stopping): its failure budget. Absent otherwise.</summary>
    [JsonPropertyName("reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>The re-runs of a finished batch, oldest first (<c>{id}.r1</c>, …); absent when there are none, and in lists.</summary>
    [JsonPropertyName("reruns")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Reruns { get; init; }

    /// <summary>The changes of the cap while the batch ran (<c>PATCH</c>), in order; absent when it never changed.</summary>
    [JsonPropertyName("capSteps")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CapStep>? CapSteps { get; init; }

    /// <summary>
    /// The delivery of a finished batch's completion hooks (webhook, queue, next batch), one entry per step; absent
    /// without hooks, before they started, in lists, and in what the hooks deliver.
    /// </summary>
    [JsonPropertyName("hooks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Orchestration.Hooks.HookStepStatus>? Hooks { get; init; }

    /// <summary>True once the batch can change no more.</summary>
    [JsonIgnore]
    public bool IsFinished => Status is BatchStatus.Completed or BatchStatus.TimedOut or BatchStatus.Cancelled or BatchStatus.Failed or BatchStatus.Aborted;
}
