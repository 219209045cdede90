using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// What a cluster cancel did: for each job that was running, milliseconds from the client's cancel call to the
/// job's recorded finish; the jobs that never started; and how long the batch took to reach its final status.
/// </summary>
public sealed record ClusterCancelResult(string FinalStatus, IReadOnlyList<double> StoppedMs, int NotStarted, int NotCancelled, double BatchFinishedMs)
{
    public const double TargetMs = 1_000;

    /// <summary>Every running job stopped within the target, and every job ended Cancelled.</summary>
    public bool Met => StoppedMs.Count > 0 && StoppedMs.Max() < TargetMs && NotCancelled == 0;

    public Percentiles Spread => new(StoppedMs.Count > 0 ? StoppedMs : [double.NaN]);
}
