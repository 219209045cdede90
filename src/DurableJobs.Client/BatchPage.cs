using System.Text.Json.Serialization;

namespace DurableJobs.Client;

/// <summary>One page of the batch list, newest first.</summary>
public sealed record BatchPage
{
    /// <summary>The batches.</summary>
    [JsonPropertyName("items")]
    public required IReadOnlyList<BatchView> Items { get; init; }

    /// <summary>Pass back to get the next (older) page; null on the last one.</summary>
    [JsonPropertyName("continuationToken")]
    public string? ContinuationToken { get; init; }
}
