namespace DurableJobs.Client;

/// <summary>
/// How long finished batches are kept before a worker deletes them (<see cref="BatchClient.DeleteAsync"/>). Off unless a
/// period is set. A batch <em>succeeded</em> when it ended Completed with every job Succeeded; every other final status
/// (Completed with a failed, timed-out or cancelled job, TimedOut, Cancelled, Aborted, Failed) counts as <em>failed</em>.
/// Age counts from when the batch finished.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Retention";

    /// <summary>How long a batch that succeeded is kept; null keeps it for good.</summary>
    public TimeSpan? CompletedAfter { get; set; }

    /// <summary>How long a batch that finished otherwise is kept; null keeps it for good.</summary>
    public TimeSpan? FailedAfter { get; set; }

    /// <summary>How often a worker looks for batches past their period.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>True when either period is set.</summary>
    internal bool Enabled => CompletedAfter is not null || FailedAfter is not null;

    /// <summary>The problems with these settings, each naming its setting; empty when they are valid.</summary>
    internal IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (CompletedAfter < TimeSpan.Zero)
        {
            problems.Add($"{SectionName}:CompletedAfter must not be negative (got {CompletedAfter}).");
        }

        if (FailedAfter < TimeSpan.Zero)
        {
            problems.Add($"{SectionName}:FailedAfter must not be negative (got {FailedAfter}).");
        }

        if (SweepInterval <= TimeSpan.Zero)
        {
            problems.Add($"{SectionName}:SweepInterval must be positive (got {SweepInterval}).");
        }

        return problems;
    }

    /// <summary>
    /// Whether <paramref name="batch"/> is past its period at <paramref name="now"/>: finished, with a period set for
    /// how it ended, and finished at least that long ago.
    /// </summary>
    internal bool IsExpired(BatchView batch, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!batch.IsFinished || batch.CompletedAt is not { } finishedAt)
        {
            return false;
        }

        TimeSpan? period = Succeeded(batch) ? CompletedAfter : FailedAfter;
        return period is { } keep && now - finishedAt >= keep;
    }

    /// <summary>Completed with every job Succeeded: the one outcome <see cref="CompletedAfter"/> covers.</summary>
    internal static bool Succeeded(BatchView batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Status == Orchestration.Model.BatchStatus.Completed && batch.Succeeded == batch.Total;
    }
}
