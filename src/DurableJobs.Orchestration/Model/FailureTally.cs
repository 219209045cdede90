using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>Jobs finished (succeeded or failed) and of them failed: what a failure budget judges.</summary>
/// <param name="Finished">Jobs that succeeded or failed.</param>
/// <param name="Failed">Jobs that failed.</param>
public sealed record FailureTally(
    [property: JsonPropertyName("finished")] int Finished,
    [property: JsonPropertyName("failed")] int Failed);
