using System.Text.Json.Serialization;
using DurableJobs.Client.Schedules;
using DurableJobs.Orchestration.Schedules;

namespace DurableJobs.Api.Responses;

/// <summary>The answer to <c>PUT /api/schedules/{name}</c>.</summary>
internal sealed record ScheduleAccepted
{
    /// <summary>The schedule's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>True when created, false when an existing schedule was updated.</summary>
    [JsonPropertyName("created")]
    public bool Created { get; init; }

    /// <summary>Where to read it.</summary>
    [JsonPropertyName("scheduleGetUri")]
    public required Uri ScheduleGetUri { get; init; }
}

/// <summary>The answer to a pause, resume or trigger.</summary>
internal sealed record ScheduleCommandAccepted
{
    /// <summary>The schedule's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The command sent; the schedule applies it within about a second.</summary>
    [JsonPropertyName("command")]
    public required ScheduleCommandKind Command { get; init; }
}

/// <summary>Every schedule, by name.</summary>
internal sealed record ScheduleList
{
    /// <summary>The schedules.</summary>
    [JsonPropertyName("items")]
    public required IReadOnlyList<ScheduleView> Items { get; init; }
}
