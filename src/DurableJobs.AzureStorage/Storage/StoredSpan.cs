using System.Text.Json.Serialization;

namespace DurableJobs.Engine.Storage;

/// <summary>A result cell read for its times only: the reader skips the output and the error in it instead of building them.</summary>
internal sealed record StoredSpan([property: JsonPropertyName("r")] StoredSpan.Times Result)
{
    internal sealed record Times(
        [property: JsonPropertyName("startedAt")] DateTimeOffset? StartedAt,
        [property: JsonPropertyName("finishedAt")] DateTimeOffset? FinishedAt);
}
