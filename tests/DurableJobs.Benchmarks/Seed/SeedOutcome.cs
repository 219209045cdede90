namespace DurableJobs.Benchmarks.Seed;

/// <summary>What one side of the seed table measured.</summary>
public sealed record SeedOutcome(
    int PeakLiveJobs,
    long PeakManagedGrowthBytes,
    long PeakWorkingSetBytes,
    long PeakWorkingSetGrowthBytes,
    int PeakThreadPoolThreads,
    double? RecoveryMs,
    int LiveAfterWindow,
    long RetainedAfterWindowBytes,
    int JobsCompleted);
