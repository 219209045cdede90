using System.Text.Json.Serialization;

namespace DurableJobs.Api.Http;

/// <summary>The body of <c>PATCH /api/batches/{id}</c>: what to change in a running batch.</summary>
internal sealed record PatchRequestBody
{
    /// <summary>The new cap.</summary>
    [JsonPropertyName("maxParallel")]
    public int? MaxParallel { get; init; }
}
