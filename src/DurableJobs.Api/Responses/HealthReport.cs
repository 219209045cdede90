using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The answer of a healthy service.</summary>
internal sealed record HealthReport
{
    /// <summary>Always <c>Healthy</c> (an unhealthy service answers 503 with a problem).</summary>
    [JsonPropertyName("status")]
    public string Status { get; init; } = "Healthy";

    /// <summary>How long the storage round trip through the engine's client took.</summary>
    [JsonPropertyName("storageLatencyMs")]
    public double StorageLatencyMs { get; init; }

    /// <summary>When the check ran.</summary>
    [JsonPropertyName("checkedAt")]
    public DateTimeOffset CheckedAt { get; init; }
}
