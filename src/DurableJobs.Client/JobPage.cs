using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Client;

/// <summary>One page of a batch's job results.</summary>
public sealed record JobPage
{
    /// <summary>The results.</summary>
    [JsonPropertyName("items")]
    public required IReadOnlyList<JobResult> Items { get; init; }

    /// <summary>Pass back to get the next page; null on the last one.</summary>
    [JsonPropertyName("continuationToken")]
    public string? ContinuationToken { get; init; }

    /// <summary>
    /// With <c>latest</c>: for each job of the page whose outcome comes from a re-run, that re-run's batch id (job id →
    /// batch id). Absent otherwise.
    /// </summary>
    [JsonPropertyName("latestFrom")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? LatestFrom { get; init; }
}
