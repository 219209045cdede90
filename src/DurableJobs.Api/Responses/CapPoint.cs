using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>One step of the cap in a <see cref="BatchTimeline"/>: the cap from this instant until the next step.</summary>
/// <param name="Seconds">Seconds since <see cref="BatchTimeline.From"/> (0 for the cap the batch started with).</param>
/// <param name="MaxParallel">The cap.</param>
internal sealed record CapPoint(
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("maxParallel")] int MaxParallel);
