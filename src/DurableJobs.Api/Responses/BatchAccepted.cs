using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The answer to a submission: where to follow the batch (in the spirit of Durable Functions' check-status payload).</summary>
internal sealed record BatchAccepted
{
    /// <summary>The batch id.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>True when the batch id already named a batch, so nothing new was started.</summary>
    [JsonPropertyName("existing")]
    public bool Existing { get; init; }

    /// <summary>GET: the batch's status.</summary>
    [JsonPropertyName("statusQueryGetUri")]
    public required Uri StatusQueryGetUri { get; init; }

    /// <summary>POST: cancels the batch.</summary>
    [JsonPropertyName("cancelPostUri")]
    public required Uri CancelPostUri { get; init; }

    /// <summary>GET: the batch's job results, paged.</summary>
    [JsonPropertyName("jobsGetUri")]
    public required Uri JobsGetUri { get; init; }
}
