using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>The payload of the cancel event raised on a batch orchestration.</summary>
/// <param name="Reason">Why, for the record.</param>
internal sealed record CancelBatchRequest([property: JsonPropertyName("reason")] string? Reason);
