using System.Text.Json.Serialization;
using DurableJobs.Client;

namespace DurableJobs.Api.Responses;

/// <summary>Recent batches, newest first.</summary>
internal sealed record BatchList
{
    /// <summary>The batches.</summary>
    [JsonPropertyName("items")]
    public required IReadOnlyList<BatchView> Items { get; init; }

    /// <summary>Pass back to get the next (older) page; null on the last one.</summary>
    [JsonPropertyName("continuationToken")]
    public string? ContinuationToken { get; init; }
}
