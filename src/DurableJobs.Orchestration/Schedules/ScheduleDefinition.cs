using System.Text.Json.Serialization;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Orchestration.Schedules;

/// <summary>
/// A recurring schedule, the body of <c>PUT /api/schedules/{name}</c>: a cron expression in a time zone, the batch
/// each occurrence starts, and what happens when runs overlap or occurrences were missed.
/// </summary>
public sealed record ScheduleDefinition
{
    /// <summary>
    /// A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), parsed by Cronos
    /// (<c>L</c>, <c>W</c>, <c>#</c>, <c>?</c> and macros such as <c>@daily</c> allowed).
    /// </summary>
    [JsonPropertyName("cron")]
    public string? Cron { get; init; }

    /// <summary>The IANA time zone the cron is read in (<c>Europe/Berlin</c>). Omitted: <c>UTC</c>.</summary>
    [JsonPropertyName("timeZone")]
    public string? TimeZone { get; init; }

    /// <summary>The batch each occurrence starts: the body of <c>POST /api/batches</c>, without <c>batchId</c> (each occurrence's is <c>{schedule}-{time}</c>) and without a start time.</summary>
    [JsonPropertyName("template")]
    public BatchRequest? Template { get; init; }

    /// <summary>What an occurrence does while the schedule's previous batch still runs. Omitted: <see cref="ScheduleOverlap.Skip"/>.</summary>
    [JsonPropertyName("overlap")]
    public ScheduleOverlap Overlap { get; init; } = ScheduleOverlap.Skip;

    /// <summary>What happens to occurrences missed while nothing ran (the cluster was down). Omitted: <see cref="ScheduleCatchUp.Skip"/>.</summary>
    [JsonPropertyName("catchUp")]
    public ScheduleCatchUp CatchUp { get; init; } = ScheduleCatchUp.Skip;

    /// <summary>No occurrence before this time (ISO 8601 with an offset).</summary>
    [JsonPropertyName("startAt")]
    [JsonConverter(typeof(OffsetDateTimeConverter))]
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>No occurrence after this time (ISO 8601 with an offset).</summary>
    [JsonPropertyName("endAt")]
    [JsonConverter(typeof(OffsetDateTimeConverter))]
    public DateTimeOffset? EndAt { get; init; }

    /// <summary>
    /// Each occurrence starts up to this many seconds late, by an amount fixed per occurrence (a hash of the schedule and
    /// the time, so a replay or a retry waits the same), to spread schedules that share a cron. 0 to 3,600; omitted: 0.
    /// </summary>
    [JsonPropertyName("jitterSeconds")]
    public double? JitterSeconds { get; init; }

    /// <summary>
    /// How late an occurrence may be handled and still run as on time (a slow timer, a worker's partition moving to
    /// another); older ones were missed while nothing ran and <see cref="CatchUp"/> decides. 1 to 86,400; omitted: 60
    /// (as Quartz's misfire threshold).
    /// </summary>
    [JsonPropertyName("graceSeconds")]
    public double? GraceSeconds { get; init; }
}

/// <summary>What an occurrence does while the schedule's previous batch still runs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScheduleOverlap>))]
public enum ScheduleOverlap
{
    /// <summary>Skip the occurrence (recorded as skipped).</summary>
    Skip,

    /// <summary>Queue it, at most one: it starts when the running batch ends; a further one while one waits is skipped.</summary>
    QueueOne,

    /// <summary>Start it anyway: batches of the schedule may run side by side.</summary>
    Allow,
}

/// <summary>What happens to occurrences missed while nothing ran (handled more than <see cref="ScheduleDefinition.GraceSeconds"/> late).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScheduleCatchUp>))]
public enum ScheduleCatchUp
{
    /// <summary>Run none of them (recorded as missed); the schedule goes on with its next occurrence.</summary>
    Skip,

    /// <summary>Run the latest of them once, at once; the others are recorded as missed.</summary>
    Latest,
}
