using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>One step of a <see cref="BatchTimeline"/>.</summary>
/// <param name="Seconds">Seconds since <see cref="BatchTimeline.From"/>.</param>
/// <param name="InFlight">Jobs in flight from this instant (the most of its interval, when downsampled).</param>
internal sealed record TimelinePoint(
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("inFlight")] int InFlight);
