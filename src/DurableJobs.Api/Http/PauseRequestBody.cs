using System.Text.Json.Serialization;

namespace DurableJobs.Api.Http;

/// <summary>The body of <c>POST /api/batches/{id}/pause</c> and <c>/resume</c>: <c>{}</c>, or with a reason (and, for a pause, <c>drain</c>).</summary>
internal sealed record PauseRequestBody
{
    /// <summary>
    /// True (the default): running chunks finish and nothing new is granted. False (stop running jobs at once and put
    /// them back as pending) is refused: a job stopped mid-run may already have had its effect, so running it again
    /// later would break exactly-once results.
    /// </summary>
    [JsonPropertyName("drain")]
    public bool? Drain { get; init; }

    /// <summary>Why, for the log.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }
}
