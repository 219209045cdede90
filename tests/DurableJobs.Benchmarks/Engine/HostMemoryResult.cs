namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// The worker host's working set through two identical batches, and the verdicts computed from it: below
/// <see cref="TargetBytes"/> throughout, and flat (after the second batch within <see cref="FlatTolerance"/> of after
/// the first, so a second batch leaves nothing behind that the first did not).
/// </summary>
public sealed record HostMemoryResult(
    int JobsPerBatch,
    long Idle,
    long PeakBatch1,
    long AfterBatch1,
    long PeakBatch2,
    long AfterBatch2,
    TimeSpan Batch1,
    TimeSpan Batch2)
{
    public const long TargetBytes = 150L * 1024 * 1024;

    public const double FlatTolerance = 0.05;

    /// <summary>The highest working set of the whole run.</summary>
    public long Highest => new[] { Idle, PeakBatch1, AfterBatch1, PeakBatch2, AfterBatch2 }.Max();

    public bool BelowTarget => Highest < TargetBytes;

    /// <summary>What the second batch left on top of the first (negative: it gave memory back).</summary>
    public long GrowthAfterBatch2 => AfterBatch2 - AfterBatch1;

    public bool Flat => GrowthAfterBatch2 <= AfterBatch1 * FlatTolerance;

    public double JobsPerSecond1 => JobsPerBatch / Batch1.TotalSeconds;

    public double JobsPerSecond2 => JobsPerBatch / Batch2.TotalSeconds;
}
