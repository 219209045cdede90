using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// What one run left behind: each job's start and finish, when it was submitted (or, for Hangfire, when its server
/// started), when the batch became final (null where there is no batch), and which process ran how many jobs.
/// </summary>
internal sealed record RunOutcome(IReadOnlyList<JobSpan> Spans, DateTimeOffset SubmittedAt, DateTimeOffset? FinalAt, IReadOnlyDictionary<string, int>? Workers)
{
    public TimeSpan SubmitToFirstStart => Spans.Min(s => s.StartedAt) - SubmittedAt;

    public TimeSpan? LastFinishToFinal => FinalAt - Spans.Max(s => s.FinishedAt);
}

/// <summary>How long a run may take before the benchmark gives up on it.</summary>
internal static class Patience
{
    /// <summary>A minute, or twenty times the run's length at the physical limit, whichever is longer.</summary>
    public static TimeSpan For(UtilisationCell cell, int jobs) =>
        TimeSpan.FromSeconds(Math.Max(60, 20 * jobs / cell.LimitPerSecond));

    /// <summary>A batch that keeps making progress is given up on only after this many times its patience.</summary>
    public const int SlowestFactor = 5;
}
