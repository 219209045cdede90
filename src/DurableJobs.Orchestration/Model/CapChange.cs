using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>The payload of the event that changes a running batch's cap.</summary>
/// <param name="MaxParallel">The new cap.</param>
public sealed record CapChange([property: JsonPropertyName("maxParallel")] int MaxParallel);
