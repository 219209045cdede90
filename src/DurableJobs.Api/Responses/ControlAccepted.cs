using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The answer to an accepted pause, resume or re-run.</summary>
internal sealed record ControlAccepted
{
    /// <summary>The batch the request acted on (for a re-run: the new batch).</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>GET: follow that batch.</summary>
    [JsonPropertyName("statusQueryGetUri")]
    public required Uri StatusQueryGetUri { get; init; }
}
