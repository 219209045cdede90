using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>The payload of the pause and resume events raised on a batch orchestration.</summary>
/// <param name="Reason">Why, for the log.</param>
public sealed record BatchControlRequest([property: JsonPropertyName("reason")] string? Reason);
