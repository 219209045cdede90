using System.Text.Json.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The answer to <c>GET /api/limits</c>.</summary>
internal sealed record LimitList
{
    /// <summary>Every named limit, by name.</summary>
    [JsonPropertyName("items")]
    public required IReadOnlyList<LimitView> Items { get; init; }
}

/// <summary>One named limit: its configuration and who holds it now.</summary>
internal sealed record LimitView
{
    /// <summary>The limit's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Most jobs holding it at once, cluster-wide; null without a concurrency limit.</summary>
    [JsonPropertyName("maxConcurrent")]
    public int? MaxConcurrent { get; init; }

    /// <summary>The concurrency in force now (the configured one; adaptive back-off is not implemented yet).</summary>
    [JsonPropertyName("effective")]
    public int? Effective { get; init; }

    /// <summary>Long-run starts per second; null without a rate limit.</summary>
    [JsonPropertyName("ratePerSecond")]
    public double? RatePerSecond { get; init; }

    /// <summary>The token bucket's size.</summary>
    [JsonPropertyName("burst")]
    public double? Burst { get; init; }

    /// <summary>Permits leased by live workers now (an upper bound of the jobs holding the limit).</summary>
    [JsonPropertyName("inUse")]
    public int InUse { get; init; }

    /// <summary>Workers with jobs waiting for the limit now.</summary>
    [JsonPropertyName("waitingWorkers")]
    public int WaitingWorkers { get; init; }

    /// <summary>Batches with jobs waiting for the limit now, summed over the waiting workers (a batch waiting on two counts twice).</summary>
    [JsonPropertyName("waitingBatches")]
    public int WaitingBatches { get; init; }

    /// <summary>The live leases: worker, permits, permits wanted on top, expiry.</summary>
    [JsonPropertyName("leases")]
    public required IReadOnlyList<LimitLeaseView> Leases { get; init; }
}

/// <summary>One worker's lease of a limit.</summary>
internal sealed record LimitLeaseView(
    [property: JsonPropertyName("worker")] string Worker,
    [property: JsonPropertyName("permits")] int Permits,
    [property: JsonPropertyName("want")] int Want,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset ExpiresAt);

/// <summary>The answer to <c>GET /api/limits/{name}/timeline</c>: the limit sampled once a second, oldest first.</summary>
internal sealed record LimitTimeline
{
    /// <summary>The limit's name.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>Seconds between samples.</summary>
    [JsonPropertyName("intervalSeconds")]
    public double IntervalSeconds { get; init; }

    /// <summary>The first point's time; null when there is none yet.</summary>
    [JsonPropertyName("from")]
    public DateTimeOffset? From { get; init; }

    /// <summary>The samples, oldest first; each holds until the next.</summary>
    [JsonPropertyName("points")]
    public required IReadOnlyList<LimitTimelinePoint> Points { get; init; }
}

/// <summary>One sample of a limit.</summary>
/// <param name="Seconds">Seconds since <see cref="LimitTimeline.From"/>.</param>
/// <param name="InUse">Permits leased by live workers.</param>
/// <param name="Effective">The concurrency in force; null without a concurrency limit.</param>
/// <param name="MaxConcurrent">The configured maximum; null without a concurrency limit.</param>
/// <param name="WaitingWorkers">Workers with jobs waiting.</param>
/// <param name="WaitingBatches">Batches with jobs waiting.</param>
internal sealed record LimitTimelinePoint(
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("inUse")] int InUse,
    [property: JsonPropertyName("effective")] int? Effective,
    [property: JsonPropertyName("maxConcurrent")] int? MaxConcurrent,
    [property: JsonPropertyName("waitingWorkers")] int WaitingWorkers,
    [property: JsonPropertyName("waitingBatches")] int WaitingBatches);
