using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>What became of one job.</summary>
public sealed record JobResult
{
    /// <summary>The job id.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The handler type.</summary>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    /// <summary>The job's status.</summary>
    [JsonPropertyName("status")]
    public required JobStatus Status { get; init; }

    /// <summary>Attempts made (0 when the job never started).</summary>
    [JsonPropertyName("attempts")]
    public int Attempts { get; init; }

    /// <summary>The handler's output when it succeeded.</summary>
    [JsonPropertyName("output")]
    public JsonElement? Output { get; init; }

    /// <summary>The last error when it did not succeed.</summary>
    [JsonPropertyName("error")]
    public JobError? Error { get; init; }

    /// <summary>When the first attempt started (UTC).</summary>
    [JsonPropertyName("startedAt")]
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job reached its final status (UTC).</summary>
    [JsonPropertyName("finishedAt")]
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Which process ran it (machine and process id).</summary>
    [JsonPropertyName("worker")]
    public string? Worker { get; init; }

    /// <summary>A running job's last progress report (listed with <c>status=Running</c>); absent otherwise.</summary>
    [JsonPropertyName("progress")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobProgress? Progress { get; init; }

    /// <summary>Times a downstream throttled the job (<c>JobThrottledException</c>): waits that were not attempts. Absent when 0.</summary>
    [JsonPropertyName("throttled")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Throttled { get; init; }
}
