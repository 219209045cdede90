using System.Text.Json.Serialization;

namespace DurableJobs.Core.Limits;

/// <summary>
/// A named limit's configuration: the most jobs holding it at once anywhere on the task hub, and a token bucket on
/// their starts. Either may be absent, not both. Bound from <c>DurableJobs:NamedLimits:{name}</c>, written by
/// <c>PUT /api/limits/{name}</c>.
/// </summary>
internal sealed record LimitSettings
{
    /// <summary>Most jobs holding the limit at once, cluster-wide. Null: no concurrency limit.</summary>
    [JsonPropertyName("maxConcurrent")]
    public int? MaxConcurrent { get; set; }

    /// <summary>Long-run starts per second. Null: no rate limit.</summary>
    [JsonPropertyName("ratePerSecond")]
    public double? RatePerSecond { get; set; }

    /// <summary>Most tokens the bucket holds (starts at once after an idle spell). Null: one second's worth, at least 1.</summary>
    [JsonPropertyName("burst")]
    public double? Burst { get; set; }

    /// <summary>The bucket's size.</summary>
    [JsonIgnore]
    public double EffectiveBurst => Burst ?? Math.Max(1, RatePerSecond ?? 1);

    /// <summary>Problems keyed by field under <paramref name="path"/>; empty when valid.</summary>
    public IEnumerable<(string Field, string Message)> Problems(string path)
    {
        string prefix = path.Length == 0 ? string.Empty : path + ".";
        if (MaxConcurrent is null && RatePerSecond is null)
        {
            yield return (path, "Give maxConcurrent, ratePerSecond or both.");
        }

        if (MaxConcurrent is { } max && (max < 1 || max > LimitCatalog.MaxConcurrentCeiling))
        {
            yield return (prefix + "maxConcurrent", $"Must be between 1 and {LimitCatalog.MaxConcurrentCeiling} (got {max}).");
        }

        if (RatePerSecond is { } rate && !(rate > 0 && rate <= 1_000_000))
        {
            yield return (prefix + "ratePerSecond", $"Must be more than 0 and at most 1,000,000 (got {rate}).");
        }

        if (Burst is { } burst && !(burst >= 1 && burst <= 1_000_000))
        {
            yield return (prefix + "burst", $"Must be between 1 and 1,000,000 (got {burst}).");
        }

        if (Burst is not null && RatePerSecond is null)
        {
            yield return (prefix + "burst", "Needs ratePerSecond.");
        }
    }
}
