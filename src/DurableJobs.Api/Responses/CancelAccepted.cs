using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The answer to an accepted cancel.</summary>
internal sealed record CancelAccepted
{
    /// <summary>The batch id.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>GET: follow the batch until it reports Cancelled.</summary>
    [JsonPropertyName("statusQueryGetUri")]
    public required Uri StatusQueryGetUri { get; init; }
}
