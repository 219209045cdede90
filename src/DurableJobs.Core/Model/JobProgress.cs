using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>A running job's last progress report.</summary>
public sealed record JobProgress
{
    /// <summary>The number the handler reported (a percentage, items done: the handler decides).</summary>
    [JsonPropertyName("value")]
    public double? Value { get; init; }

    /// <summary>The handler's short message, if any.</summary>
    [JsonPropertyName("message")]
    public string? Message { get; init; }

    /// <summary>When the worker last heard from the job (its start, a report or a heartbeat), UTC.</summary>
    [JsonPropertyName("reportedAt")]
    public DateTimeOffset? ReportedAt { get; init; }
}
