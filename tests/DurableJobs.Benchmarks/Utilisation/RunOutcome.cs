using System.Diagnostics;
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

/// <summary>
/// Patience counted from a run's last progress, not from its start: on a machine loaded far past its cores a run can be
/// slow (completions waiting tens of seconds in a queue) without being stuck, and only one that shows no progress for
/// that long is. A slow one still ends at <see cref="Patience.SlowestFactor"/> times it.
/// </summary>
/// <typeparam name="T">What the run's progress is read as (counts); a change of it is progress.</typeparam>
internal sealed class PatienceClock<T>(TimeSpan patience)
{
    /// <summary>Time since the run started.</summary>
    private readonly Stopwatch sinceStart = Stopwatch.StartNew();

    /// <summary>Time since <see cref="last"/> changed.</summary>
    private readonly Stopwatch sinceProgress = Stopwatch.StartNew();

    /// <summary>The progress last read.</summary>
    private T? last;

    /// <summary>Time since the run started.</summary>
    public TimeSpan Elapsed => sinceStart.Elapsed;

    /// <summary>Notes <paramref name="progress"/>; null while patience lasts, else why it ran out.</summary>
    public string? Exhausted(T progress)
    {
        if (!EqualityComparer<T>.Default.Equals(progress, last))
        {
            last = progress;
            sinceProgress.Restart();
        }

        if (sinceProgress.Elapsed > patience)
        {
            return $"made no progress for {patience.TotalSeconds:0} s ({sinceStart.Elapsed.TotalSeconds:0} s after its submit)";
        }

        return sinceStart.Elapsed > patience * Patience.SlowestFactor ? $"was not final within {(patience * Patience.SlowestFactor).TotalSeconds:0} s" : null;
    }
}
