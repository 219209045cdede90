namespace DurableJobs.Benchmarks.Limits;

/// <summary>One job as it recorded itself: its batch, the worker process that ran it, and when it held the limit.</summary>
internal sealed record LimitJob(string Batch, string Worker, DateTimeOffset StartedAt, DateTimeOffset FinishedAt);

/// <summary>
/// What one run of several batches left: every job, when the batches were submitted, and when the last one became
/// final (so a run's wall time includes the batches' own round trips, as a user waits for them).
/// </summary>
internal sealed record LimitRunOutcome(IReadOnlyList<LimitJob> Jobs, DateTimeOffset SubmittedAt, DateTimeOffset FinalAt)
{
    /// <summary>Jobs ÷ (last batch final − submitted).</summary>
    public double JobsPerSecond => Jobs.Count / (FinalAt - SubmittedAt).TotalSeconds;
}
