using System.Text.Json.Serialization;
using DurableJobs.Core.Limits;

namespace DurableJobs.Orchestration.Limits;

/// <summary>
/// The one stored row of a named limit, replaced only by a compare-and-swap on its <see cref="ETag"/>: its settings,
/// the permits each worker process leases, and the token bucket's state. The sum of the live leases never exceeds
/// <see cref="LimitSettings.MaxConcurrent"/>, so neither do the jobs holding the limit.
/// </summary>
internal sealed record LimitRow
{
    /// <summary>The limit's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its configuration.</summary>
    public required LimitSettings Settings { get; init; }

    /// <summary>Leases by holder (a worker's name); an expired one is dropped by the next writer.</summary>
    public IReadOnlyDictionary<string, LimitLease> Leases { get; init; } = new Dictionary<string, LimitLease>();

    /// <summary>Tokens left in the bucket at <see cref="TokensAt"/>.</summary>
    public double Tokens { get; init; }

    /// <summary>When <see cref="Tokens"/> was computed; the bucket refills at the rate since.</summary>
    public DateTimeOffset TokensAt { get; init; }

    /// <summary>
    /// The effective concurrency after downstream throttling cut it (at least 1, below the maximum); null when it is not
    /// cut (rows written before adaptive limits have none). Leases never sum past it for new permits.
    /// </summary>
    public int? Effective { get; init; }

    /// <summary>When the effective concurrency was last cut: throttles within the cool-down after it do not cut again.</summary>
    public DateTimeOffset? CutAt { get; init; }

    /// <summary>Clean completions counted towards the next step up of <see cref="Effective"/>.</summary>
    public int Clean { get; init; }

    /// <summary>The concurrency new permits are granted under: <see cref="Effective"/> within 1..maxConcurrent; null without <c>maxConcurrent</c>.</summary>
    public int? EffectiveConcurrency => Settings.MaxConcurrent is { } max ? Math.Clamp(Effective ?? max, 1, max) : null;

    /// <summary>The stored version; null for a row not stored yet.</summary>
    public string? ETag { get; init; }

    /// <summary>Permits leased by live holders at <paramref name="now"/>.</summary>
    public int InUse(DateTimeOffset now) => Leases.Values.Where(l => l.ExpiresAt > now).Sum(l => l.Permits);

    /// <summary>Holders waiting for more permits than they lease at <paramref name="now"/>.</summary>
    public int Waiting(DateTimeOffset now) => Leases.Values.Count(l => l.ExpiresAt > now && l.Want > 0);

    /// <summary>
    /// Batches waiting for the limit at <paramref name="now"/>, summed over holders (a batch waiting in two processes
    /// counts twice).
    /// </summary>
    public int WaitingBatches(DateTimeOffset now) => Leases.Values.Where(l => l.ExpiresAt > now && l.Want > 0).Sum(l => l.WaitingBatches);
}

/// <summary>
/// One holder's lease: the permits it may hand to its jobs until <paramref name="ExpiresAt"/>, how many more it wants,
/// and while it wants more, how many batches wait there (<paramref name="Batches"/>) and what their turns weigh
/// (<paramref name="Weight"/>, <see cref="LimitTurnQueue{T}.Weight"/>): its share of the limit follows the weight.
/// </summary>
internal sealed record LimitLease(
    [property: JsonPropertyName("p")] int Permits,
    [property: JsonPropertyName("w")] int Want,
    [property: JsonPropertyName("x")] DateTimeOffset ExpiresAt,
    [property: JsonPropertyName("b"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Batches = null,
    [property: JsonPropertyName("g"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Weight = null)
{
    /// <summary>Batches waiting here; a lease written before they were reported stands for one.</summary>
    public int WaitingBatches => Batches ?? 1;

    /// <summary>The weight of what waits here; a lease written before weights were reported stands for one batch of the default priority.</summary>
    public int WaitingWeight => Weight ?? LimitTurns.DefaultPriority;
}

/// <summary>Where limit rows live: one row per limit, written only when its ETag still matches.</summary>
internal interface ILimitStore
{
    /// <summary>The row of <paramref name="name"/>, or null when there is none.</summary>
    Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="row"/> if the stored row still has its ETag (or, for a null ETag, if there is none yet)
    /// and returns it with its new ETag; null when another writer came first.
    /// </summary>
    Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken);

    /// <summary>Every limit's row.</summary>
    Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken);
}
