using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Model;

/// <summary>The output of one job activity: a final result per job of the chunk, in the chunk's order.</summary>
public sealed record JobChunkResult
{
    /// <summary>The results.</summary>
    [JsonPropertyName("results")]
    public required IReadOnlyList<JobResult> Results { get; init; }
}
