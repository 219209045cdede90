using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>
/// Where a batch's final view goes when the batch ends, whatever its final status: POSTed to <see cref="Webhook"/>
/// (signed with HMAC-SHA256) and/or put on the Storage queue <see cref="Queue"/>. Delivery is at least once, retried with
/// back-off until <see cref="DeadlineSeconds"/> after the batch ended; receivers drop repeats by the batch id.
/// </summary>
public sealed record CompletionHook
{
    /// <summary>An https URL (http only to loopback, and only where <c>DurableJobs:Hooks:AllowLoopbackHttp</c> is set).</summary>
    [JsonPropertyName("webhook")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Webhook { get; init; }

    /// <summary>An Azure Storage queue of the host's storage account (created when missing).</summary>
    [JsonPropertyName("queue")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Queue { get; init; }

    /// <summary>How long after the batch ended delivery is retried. Omitted: <c>DurableJobs:Hooks:DefaultDeadline</c>.</summary>
    [JsonPropertyName("deadlineSeconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? DeadlineSeconds { get; init; }
}

/// <summary>A continuation: the batch started when this one ends (or only when every job of it succeeded).</summary>
public sealed record NextBatch
{
    /// <summary>The batch to start. Without a <c>batchId</c> it is <c>{id}.next</c>, so a repeated start starts nothing new.</summary>
    [JsonPropertyName("batch")]
    public BatchRequest? Batch { get; init; }

    /// <summary>Start it only when the batch ended Completed with every job Succeeded.</summary>
    [JsonPropertyName("onlyOnSuccess")]
    public bool OnlyOnSuccess { get; init; }

    /// <summary>The id the next batch of batch <paramref name="batchId"/> gets.</summary>
    internal string IdAfter(string batchId) => Batch?.BatchId ?? batchId + ".next";
}
