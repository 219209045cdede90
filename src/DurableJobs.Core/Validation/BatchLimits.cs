namespace DurableJobs.Core.Validation;

/// <summary>Limits a batch request must respect. Every host reads them from configuration.</summary>
public sealed class BatchLimits
{
    /// <summary>The configuration section these limits bind to.</summary>
    public const string SectionName = "DurableJobs:Limits";

    /// <summary>Most jobs one batch may carry.</summary>
    public int MaxJobsPerBatch { get; set; } = 100_000;

    /// <summary>Smallest accepted <c>maxParallel</c>.</summary>
    public int MinParallel { get; set; } = 1;

    /// <summary>Largest accepted <c>maxParallel</c>.</summary>
    public int MaxParallel { get; set; } = 1_000;

    /// <summary><c>maxParallel</c> when a request leaves it out.</summary>
    public int DefaultMaxParallel { get; set; } = 10;

    /// <summary>Longest accepted deadline.</summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Deadline when a request leaves it out.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Largest payload of one job, in UTF-8 bytes of its JSON.</summary>
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>Most attempts a retry policy may ask for.</summary>
    public int MaxAttempts { get; set; } = 100;

    /// <summary>
    /// Furthest ahead a delayed batch may start (<c>startAt</c>, <c>startAfterSeconds</c>): a year and a day, so a
    /// yearly job can be planned, while a typo in the year is refused rather than parked for decades.
    /// </summary>
    public TimeSpan MaxStartDelay { get; set; } = TimeSpan.FromDays(366);

    /// <summary>Longest id (batch or job), in characters.</summary>
    public int MaxIdLength { get; set; } = 100;
}
