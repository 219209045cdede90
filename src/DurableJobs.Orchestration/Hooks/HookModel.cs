using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Hooks;

/// <summary>A batch's hooks as its orchestration carries them: the request's, with the delivery deadline resolved.</summary>
internal sealed record BatchHooks
{
    /// <summary>The request's <c>onComplete</c>.</summary>
    [JsonPropertyName("onComplete")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompletionHook? OnComplete { get; init; }

    /// <summary>The request's <c>next</c>.</summary>
    [JsonPropertyName("next")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NextBatch? Next { get; init; }

    /// <summary>How long after the batch ended delivery is retried.</summary>
    [JsonPropertyName("deadlineSeconds")]
    public double DeadlineSeconds { get; init; }
}

/// <summary>The input of <see cref="BatchHookOrchestrator"/>.</summary>
internal sealed record BatchHookInput
{
    /// <summary>The batch that ended.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>What to deliver.</summary>
    [JsonPropertyName("hooks")]
    public required BatchHooks Hooks { get; init; }
}

/// <summary>What a hook step does.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<HookStepKind>))]
public enum HookStepKind
{
    /// <summary>POST the final view to the webhook.</summary>
    Webhook,

    /// <summary>Put the final view on the queue.</summary>
    Queue,

    /// <summary>Start the next batch.</summary>
    Next,
}

/// <summary>The input of <see cref="HookNames.DeliverActivity"/>: one attempt of one step.</summary>
internal sealed record HookStep
{
    /// <summary>The batch that ended.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>What to do.</summary>
    [JsonPropertyName("kind")]
    public required HookStepKind Kind { get; init; }

    /// <summary>The webhook URL or queue name; the next batch's id for <see cref="HookStepKind.Next"/>.</summary>
    [JsonPropertyName("target")]
    public required string Target { get; init; }

    /// <summary>1 for the first attempt (sent to webhooks as <c>X-DurableJobs-Delivery-Attempt</c>).</summary>
    [JsonPropertyName("attempt")]
    public int Attempt { get; init; } = 1;

    /// <summary>For <see cref="HookStepKind.Next"/>: the batch to start.</summary>
    [JsonPropertyName("next")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NextBatch? Next { get; init; }
}

/// <summary>How a step ended or stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<HookStepState>))]
public enum HookStepState
{
    /// <summary>Not done yet: an attempt failed and another follows.</summary>
    Retrying,

    /// <summary>Delivered (the webhook answered 2xx, the queue took the message, the next batch exists).</summary>
    Delivered,

    /// <summary>Nothing to do (a next batch with <c>onlyOnSuccess</c> after a batch that did not fully succeed).</summary>
    Skipped,

    /// <summary>Can never succeed (the next batch is invalid, the batch is gone): not retried.</summary>
    Refused,

    /// <summary>Still failing at the hook's deadline: no more attempts.</summary>
    GaveUp,
}

/// <summary>The output of one attempt.</summary>
internal sealed record HookAttemptOutcome
{
    /// <summary>Where the step stands after it (<see cref="HookStepState.Retrying"/> asks for another attempt).</summary>
    [JsonPropertyName("state")]
    public HookStepState State { get; init; }

    /// <summary>What happened, in a line (an HTTP status, an error, the next batch's id).</summary>
    [JsonPropertyName("detail")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }
}

/// <summary>One step's delivery status: the hook orchestration's status and output, and a finished batch's view.</summary>
public sealed record HookStepStatus
{
    /// <summary>What the step does.</summary>
    [JsonPropertyName("kind")]
    public required HookStepKind Kind { get; init; }

    /// <summary>The webhook URL, the queue name or the next batch's id.</summary>
    [JsonPropertyName("target")]
    public required string Target { get; init; }

    /// <summary>Where it stands.</summary>
    [JsonPropertyName("state")]
    public HookStepState State { get; init; }

    /// <summary>Attempts made.</summary>
    [JsonPropertyName("attempts")]
    public int Attempts { get; init; }

    /// <summary>The last attempt's detail.</summary>
    [JsonPropertyName("detail")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }

    /// <summary>When the last attempt ended (UTC).</summary>
    [JsonPropertyName("atUtc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? AtUtc { get; init; }
}
