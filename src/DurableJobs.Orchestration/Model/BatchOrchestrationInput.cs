using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>
/// What the batch orchestrator receives: a validated request with every default resolved. The jobs themselves
/// are in the batch store under <see cref="JobsKey"/>, so this message stays small for any batch size.
/// </summary>
internal sealed record BatchOrchestrationInput
{
    /// <summary>The batch id, also the orchestration instance id.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary>Where the jobs are in the batch store.</summary>
    [JsonPropertyName("jobsKey")]
    public required string JobsKey { get; init; }

    /// <summary>How many jobs the batch holds.</summary>
    [JsonPropertyName("jobCount")]
    public required int JobCount { get; init; }

    /// <summary>Most jobs in flight at once.</summary>
    [JsonPropertyName("maxParallel")]
    public required int MaxParallel { get; init; }

    /// <summary>Seconds from the orchestration's start to the deadline.</summary>
    [JsonPropertyName("deadlineSeconds")]
    public required double DeadlineSeconds { get; init; }

    /// <summary>Per-job retry policy.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec Retry { get; init; } = RetrySpec.None;

    /// <summary>How jobs are cut into activities.</summary>
    [JsonPropertyName("chunking")]
    public ChunkingOptions Chunking { get; init; } = new();

    /// <summary>For a part of a larger batch: index of its first job.</summary>
    [JsonPropertyName("start")]
    public int Start { get; init; }

    /// <summary>For a part of a larger batch: how many jobs it runs. Null: all of them.</summary>
    [JsonPropertyName("count")]
    public int? Count { get; init; }

    /// <summary>For a part of a larger batch: the batch's absolute deadline (UTC), fixed when the batch started.</summary>
    [JsonPropertyName("deadlineUtc")]
    public DateTime? DeadlineUtc { get; init; }

    /// <summary>For a part of a larger batch: the batch's instance id, which the part answers when it ends.</summary>
    [JsonPropertyName("parentInstanceId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ParentInstanceId { get; init; }

    /// <summary>The jobs this orchestration runs itself.</summary>
    [JsonIgnore]
    public int RangeCount => Count ?? JobCount;

    /// <summary>How long in-flight work may take to stop after the deadline or a cancel before it is written off.</summary>
    [JsonPropertyName("stopGraceSeconds")]
    public double StopGraceSeconds { get; init; } = 30;

    /// <summary>
    /// For a delayed batch: when it starts (UTC). Until then it is Scheduled and can be cancelled without any job
    /// running; its deadline counts from this start. Absent: at once.
    /// </summary>
    [JsonPropertyName("startAtUtc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTime? StartAtUtc { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the span that started the batch, when it was traced: chunk and job spans join
    /// that trace, so one batch reads as one trace across processes. Absent when nothing listened.
    /// </summary>
    [JsonPropertyName("traceParent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }

    /// <summary>The failure budget: once spent, the batch stops as a cancel stops it and ends Aborted. Absent: none.</summary>
    [JsonPropertyName("abortWhen")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AbortWhen? AbortWhen { get; init; }

    /// <summary>
    /// For a part of a larger batch with a failure budget: the jobs the parts before it finished and failed, which
    /// the budget counts too. Absent otherwise.
    /// </summary>
    [JsonPropertyName("failedBefore")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FailureTally? FailedBefore { get; init; }

    /// <summary>For a re-run: the batch first run, whose id names every re-run (<c>{id}.r1</c>, <c>{id}.r2</c>, …). Absent otherwise.</summary>
    [JsonPropertyName("rerunOf")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RerunOf { get; init; }

    /// <summary>What to do when the batch ends (webhook, queue, next batch); the batch's own orchestration starts it. Absent: nothing.</summary>
    [JsonPropertyName("hooks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Hooks.BatchHooks? Hooks { get; init; }
    /// <summary>The request's named limits per job type (<see cref="BatchRequest.Limits"/>), copied to every chunk. Absent: none.</summary>
    [JsonPropertyName("limits")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Limits { get; init; }

    /// <summary>The request's <see cref="BatchRequest.Priority"/> in the turns of its named limits, copied to every chunk. Absent: the default.</summary>
    [JsonPropertyName("priority")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Priority { get; init; }

    /// <summary>The request's <see cref="BatchRequest.Tenant"/>, copied to every chunk. Absent: the batch is its own tenant.</summary>
    [JsonPropertyName("tenant")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tenant { get; init; }
}
