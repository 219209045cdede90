using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Schedules;

/// <summary>What a command asks of a schedule.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScheduleCommandKind>))]
internal enum ScheduleCommandKind
{
    /// <summary>Replace the definition; it takes effect from the next occurrence.</summary>
    Update,

    /// <summary>Stop starting occurrences (those that fall while paused are not caught up).</summary>
    Pause,

    /// <summary>Start occurrences again, from the next one.</summary>
    Resume,

    /// <summary>Start an occurrence now (even while paused), under the overlap policy.</summary>
    Trigger,

    /// <summary>End the schedule; batches already started run on.</summary>
    Delete,
}

/// <summary>The payload of <see cref="ScheduleNames.CommandEvent"/>.</summary>
internal sealed record ScheduleCommand
{
    /// <summary>What to do.</summary>
    [JsonPropertyName("kind")]
    public required ScheduleCommandKind Kind { get; init; }

    /// <summary>For <see cref="ScheduleCommandKind.Update"/>: the new definition.</summary>
    [JsonPropertyName("definition")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScheduleDefinition? Definition { get; init; }
}

/// <summary>What became of an occurrence.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OccurrenceDisposition>))]
public enum OccurrenceDisposition
{
    /// <summary>Its batch was started (or had been, by an earlier attempt of the same tick).</summary>
    Started,

    /// <summary>Skipped: the previous batch still ran (overlap skip, or queue-one with one already waiting).</summary>
    Skipped,

    /// <summary>Waiting for the running batch to end (overlap queue-one).</summary>
    Queued,

    /// <summary>Missed while nothing ran, not caught up (or not the latest of those missed).</summary>
    Missed,

    /// <summary>The template was refused when the occurrence came (a job type no longer registered, say).</summary>
    Invalid,
}

/// <summary>One occurrence of a schedule and what became of it.</summary>
internal sealed record ScheduleRun
{
    /// <summary>The occurrence's time (UTC): the cron time, or the trigger time.</summary>
    [JsonPropertyName("occurrenceUtc")]
    public required DateTime OccurrenceUtc { get; init; }

    /// <summary>Its batch id (started, or the id it will start under when queued); absent when none was started.</summary>
    [JsonPropertyName("batchId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BatchId { get; init; }

    /// <summary>What became of it.</summary>
    [JsonPropertyName("disposition")]
    public required OccurrenceDisposition Disposition { get; init; }

    /// <summary><c>cron</c>, <c>catch-up</c>, <c>queued</c> or <c>manual</c>.</summary>
    [JsonPropertyName("trigger")]
    public required string Trigger { get; init; }

    /// <summary>When the schedule handled it (UTC).</summary>
    [JsonPropertyName("handledUtc")]
    public required DateTime HandledUtc { get; init; }

    /// <summary>Why, for skipped, missed and invalid occurrences.</summary>
    [JsonPropertyName("detail")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }
}

/// <summary>
/// The schedule orchestration's input, carried from one execution to the next by continue-as-new, so the history stays
/// a few events long however long the schedule lives.
/// </summary>
internal sealed record ScheduleState
{
    /// <summary>The most occurrences kept in <see cref="Recent"/>.</summary>
    public const int MaxRecent = 30;

    /// <summary>The schedule's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The definition in force.</summary>
    [JsonPropertyName("definition")]
    public required ScheduleDefinition Definition { get; init; }

    /// <summary>True while paused.</summary>
    [JsonPropertyName("paused")]
    public bool Paused { get; init; }

    /// <summary>Occurrences up to this time (UTC) are handled; null until the first execution sets it to its start.</summary>
    [JsonPropertyName("cursorUtc")]
    public DateTime? CursorUtc { get; init; }

    /// <summary>The schedule's batches that were running when last looked at (kept only when the overlap policy needs it).</summary>
    [JsonPropertyName("active")]
    public IReadOnlyList<string> Active { get; init; } = [];

    /// <summary>The occurrence waiting for the running batch to end (overlap queue-one).</summary>
    [JsonPropertyName("queued")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScheduleRun? Queued { get; init; }

    /// <summary>The latest occurrences, newest last, at most <see cref="MaxRecent"/>.</summary>
    [JsonPropertyName("recent")]
    public IReadOnlyList<ScheduleRun> Recent { get; init; } = [];

    /// <summary>Counts every definition applied (1 for the first), so a client sees an update take effect.</summary>
    [JsonPropertyName("revision")]
    public int Revision { get; init; } = 1;

    /// <summary>Set by a delete: the orchestration then ends.</summary>
    [JsonPropertyName("deleted")]
    public bool Deleted { get; init; }

    /// <summary>The problem of a definition that no longer works on this host (a time zone missing here); it waits for an update.</summary>
    [JsonPropertyName("problem")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Problem { get; init; }
}

/// <summary>The schedule orchestration's custom status: what a client shows without reading the input.</summary>
internal sealed record ScheduleProgress
{
    /// <summary>True while paused.</summary>
    [JsonPropertyName("paused")]
    public bool Paused { get; init; }

    /// <summary>The next occurrence (UTC), before jitter; absent when paused or past the end date.</summary>
    [JsonPropertyName("nextOccurrenceUtc")]
    public DateTime? NextOccurrenceUtc { get; init; }

    /// <summary>When the schedule wakes next (UTC): the next occurrence plus its jitter, or an earlier check.</summary>
    [JsonPropertyName("wakeUtc")]
    public DateTime? WakeUtc { get; init; }

    /// <summary>See <see cref="ScheduleState.Revision"/>.</summary>
    [JsonPropertyName("revision")]
    public int Revision { get; init; }

    /// <summary>See <see cref="ScheduleState.Recent"/>.</summary>
    [JsonPropertyName("recent")]
    public IReadOnlyList<ScheduleRun> Recent { get; init; } = [];

    /// <summary>See <see cref="ScheduleState.Queued"/>.</summary>
    [JsonPropertyName("queued")]
    public ScheduleRun? Queued { get; init; }

    /// <summary>See <see cref="ScheduleState.Problem"/>.</summary>
    [JsonPropertyName("problem")]
    public string? Problem { get; init; }

    /// <summary>Set once deleted.</summary>
    [JsonPropertyName("deleted")]
    public bool Deleted { get; init; }
}

/// <summary>The input of <see cref="ScheduleNames.StartBatchActivity"/>.</summary>
internal sealed record ScheduledBatchStart
{
    /// <summary>The schedule.</summary>
    [JsonPropertyName("schedule")]
    public required string Schedule { get; init; }

    /// <summary>The occurrence (UTC).</summary>
    [JsonPropertyName("occurrenceUtc")]
    public required DateTime OccurrenceUtc { get; init; }

    /// <summary>When it was due (UTC): the occurrence plus its jitter; how late the start is counts from here.</summary>
    [JsonPropertyName("dueUtc")]
    public required DateTime DueUtc { get; init; }

    /// <summary>The batch id: deterministic per occurrence.</summary>
    [JsonPropertyName("batchId")]
    public required string BatchId { get; init; }

    /// <summary><see cref="ScheduleRun.Trigger"/>.</summary>
    [JsonPropertyName("trigger")]
    public required string Trigger { get; init; }

    /// <summary>The batch to start (its id is set from <see cref="BatchId"/>).</summary>
    [JsonPropertyName("template")]
    public required BatchRequest Template { get; init; }
}

/// <summary>The output of <see cref="ScheduleNames.StartBatchActivity"/>.</summary>
internal sealed record ScheduledBatchStarted
{
    /// <summary>True when the batch exists now (started by this call or an earlier one).</summary>
    [JsonPropertyName("started")]
    public bool Started { get; init; }

    /// <summary>True when an earlier attempt had started it already: nothing new was started.</summary>
    [JsonPropertyName("existed")]
    public bool Existed { get; init; }

    /// <summary>Why the template was refused, when it was.</summary>
    [JsonPropertyName("problem")]
    public string? Problem { get; init; }
}
