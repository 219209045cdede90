using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>Consecutive jobs of a batch.</summary>
/// <param name="Start">Index of the first.</param>
/// <param name="Count">How many.</param>
internal sealed record JobRange([property: JsonPropertyName("start")] int Start, [property: JsonPropertyName("count")] int Count);
