using System.Text.Json.Serialization;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Schedules;

namespace DurableJobs.Client.Schedules;

/// <summary>A schedule as clients see it.</summary>
public sealed record ScheduleView
{
    /// <summary>Its name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The definition in force (an update shows once the schedule has applied it: see <see cref="Revision"/>).</summary>
    [JsonPropertyName("definition")]
    public required ScheduleDefinition Definition { get; init; }

    /// <summary>True while paused.</summary>
    [JsonPropertyName("paused")]
    public bool Paused { get; init; }

    /// <summary>Counts the definitions applied (1 for the first).</summary>
    [JsonPropertyName("revision")]
    public int Revision { get; init; }

    /// <summary>The next occurrences (before jitter), soonest first; empty when paused or past the end date.</summary>
    [JsonPropertyName("nextOccurrences")]
    public IReadOnlyList<DateTimeOffset> NextOccurrences { get; init; } = [];

    /// <summary>The occurrence waiting for the running batch to end (overlap queue-one).</summary>
    [JsonPropertyName("queued")]
    public ScheduleRunView? Queued { get; init; }

    /// <summary>The latest occurrences, newest first, each with its batch id and outcome.</summary>
    [JsonPropertyName("runs")]
    public IReadOnlyList<ScheduleRunView> Runs { get; init; } = [];

    /// <summary>Why the schedule cannot run on its host (a time zone missing there), until an update.</summary>
    [JsonPropertyName("problem")]
    public string? Problem { get; init; }

    /// <summary>When it was created (this incarnation).</summary>
    [JsonPropertyName("createdAt")]
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the schedule last woke.</summary>
    [JsonPropertyName("lastUpdatedAt")]
    public DateTimeOffset LastUpdatedAt { get; init; }
}

/// <summary>One occurrence of a schedule.</summary>
public sealed record ScheduleRunView
{
    /// <summary>The occurrence's time: the cron time, or the trigger time.</summary>
    [JsonPropertyName("occurrence")]
    public required DateTimeOffset Occurrence { get; init; }

    /// <summary>What became of it.</summary>
    [JsonPropertyName("disposition")]
    public required OccurrenceDisposition Disposition { get; init; }

    /// <summary>cron, catch-up, queued or manual.</summary>
    [JsonPropertyName("trigger")]
    public required string Trigger { get; init; }

    /// <summary>Its batch, when one was started (or will be, when queued).</summary>
    [JsonPropertyName("batchId")]
    public string? BatchId { get; init; }

    /// <summary>The batch's status: its outcome once finished. Absent without a batch (and in lists).</summary>
    [JsonPropertyName("outcome")]
    public BatchStatus? Outcome { get; init; }

    /// <summary>Why it was skipped, missed or refused.</summary>
    [JsonPropertyName("detail")]
    public string? Detail { get; init; }
}
