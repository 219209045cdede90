using System.Text.Json.Serialization;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Api.Responses;

/// <summary>
/// Jobs in flight over time, computed from recorded job results (a job counts from its first attempt's start to
/// its final status), with the batch's cap so a chart can draw both. While a batch runs only finished jobs are
/// recorded, so the series fills in as it progresses.
/// </summary>
internal sealed record BatchTimeline
{
    /// <summary>The batch id.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The batch's status when the timeline was read.</summary>
    [JsonPropertyName("status")]
    public required BatchStatus Status { get; init; }

    /// <summary>The cap: the most jobs of the batch allowed in flight at once.</summary>
    [JsonPropertyName("maxParallel")]
    public int MaxParallel { get; init; }

    /// <summary>The most jobs in flight at any instant, over the full-resolution series.</summary>
    [JsonPropertyName("maxInFlight")]
    public int MaxInFlight { get; init; }

    /// <summary>Job results read; only those with a start and a finish time contribute.</summary>
    [JsonPropertyName("jobsCounted")]
    public int JobsCounted { get; init; }

    /// <summary>The first job's start, or null when no job has run.</summary>
    [JsonPropertyName("from")]
    public DateTimeOffset? From { get; init; }

    /// <summary>The last job's finish, or null when no job has run.</summary>
    [JsonPropertyName("to")]
    public DateTimeOffset? To { get; init; }

    /// <summary>
    /// A step series in time order: each point's count holds until the next point. When downsampled, a point
    /// carries the largest count of its interval, so peaks are never hidden.
    /// </summary>
    [JsonPropertyName("points")]
    public required IReadOnlyList<TimelinePoint> Points { get; init; }

    /// <summary>
    /// The cap as a step series, when it changed while the batch ran: the cap it started with at 0, then each change
    /// at the second the orchestrator took it (a fall binds once the chunks under the old cap finished). Absent otherwise.
    /// </summary>
    [JsonPropertyName("capSteps")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CapPoint>? CapSteps { get; init; }
}
