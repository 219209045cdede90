using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>
/// A batch of jobs submitted by a client: the unit that is scheduled, capped, timed and cancelled together.
/// </summary>
public sealed record BatchRequest
{
    /// <summary>Optional idempotency key. When set, it becomes the batch id; a second submission with the same id starts nothing new.</summary>
    [JsonPropertyName("batchId")]
    public string? BatchId { get; init; }

    /// <summary>The jobs of the batch, in submission order.</summary>
    [JsonPropertyName("jobs")]
    public IReadOnlyList<JobSpec>? Jobs { get; init; }

    /// <summary>Most jobs of this batch in flight at once, cluster-wide. Omitted: <see cref="Validation.BatchLimits.DefaultMaxParallel"/>.</summary>
    [JsonPropertyName("maxParallel")]
    public int? MaxParallel { get; init; }

    /// <summary>Seconds from the start of the batch until its deadline. Omitted: <see cref="Validation.BatchLimits.DefaultDeadline"/>.</summary>
    [JsonPropertyName("deadlineSeconds")]
    public double? DeadlineSeconds { get; init; }

    /// <summary>Per-job retry policy. Omitted: one attempt per job.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec? Retry { get; init; }

    /// <summary>
    /// The failure budget: the batch stops and ends <c>Aborted</c> once too many of its finished jobs failed. Omitted: no budget.
    /// </summary>
    [JsonPropertyName("abortWhen")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] // a schedule's stored template must replay as it was written
    public AbortWhen? AbortWhen { get; init; }

    /// <summary>
    /// A delayed batch: when it starts, ISO 8601 with an offset. Until then it is Scheduled and can be cancelled
    /// without any job running; its deadline counts from this start. A time already passed starts it at once.
    /// Not together with <see cref="StartAfterSeconds"/>; at most <see cref="Validation.BatchLimits.MaxStartDelay"/> ahead.
    /// </summary>
    [JsonPropertyName("startAt")]
    [JsonConverter(typeof(OffsetDateTimeConverter))]
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>A delayed batch: seconds from its submission to its start (see <see cref="StartAt"/>).</summary>
    [JsonPropertyName("startAfterSeconds")]
    public double? StartAfterSeconds { get; init; }

    /// <summary>Where the batch's final view goes when it ends (a signed webhook, a queue). Omitted: nowhere.</summary>
    [JsonPropertyName("onComplete")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompletionHook? OnComplete { get; init; }

    /// <summary>The batch started when this one ends. Omitted: none.</summary>
    [JsonPropertyName("next")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NextBatch? Next { get; init; }
    /// <summary>
    /// The default of <see cref="JobSpec.JobTimeoutSeconds"/> for the batch's jobs: an attempt that has not heartbeated
    /// for this long is cancelled and retried under <see cref="Retry"/>. Omitted: no per-job timeout.
    /// </summary>
    [JsonPropertyName("jobTimeoutSeconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] // a schedule's stored template must replay as it was written
    public double? JobTimeoutSeconds { get; init; }
    /// <summary>
    /// Named limits per job type, on top of those its handler was registered with: <c>{"payment": ["payments"]}</c>.
    /// Every name must be a declared limit. Omitted: none.
    /// </summary>
    [JsonPropertyName("limits")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Limits { get; init; }

    /// <summary>
    /// The batch's weight in the turns of the named limits it waits on: 1 (lowest) to 5 (highest); a batch of priority
    /// p gets p turns for every turn of a batch of priority 1, and none is starved. Omitted: 3.
    /// </summary>
    [JsonPropertyName("priority")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] // a schedule's stored template must replay as it was written
    public int? Priority { get; init; }

    /// <summary>
    /// Who the batch runs for: on a named limit, tenants take equal turns however many batches each has waiting, and
    /// a tenant's batches share its turns. Letters, digits, '-', '_' and '.'. Omitted: the batch is a tenant of its own.
    /// </summary>
    [JsonPropertyName("tenant")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tenant { get; init; }
}
