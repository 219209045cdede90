namespace DurableJobs.Core.Model;

/// <summary>How many jobs were in flight over time, from their start and finish times: the cap made visible.</summary>
public static class JobTimeline
{
    /// <summary>The most jobs in flight at any instant. A job finishing exactly when another starts does not overlap it.</summary>
    public static int MaxInFlight(IEnumerable<JobResult> jobs) => InFlightOverTime(jobs).Select(p => p.InFlight).DefaultIfEmpty(0).Max();

    /// <summary>Every change of the in-flight count, in time order: (instant, count after the change). Jobs that never ran count for nothing.</summary>
    public static IReadOnlyList<(DateTimeOffset At, int InFlight)> InFlightOverTime(IEnumerable<JobResult> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return InFlightOverTime(jobs.Where(j => j.StartedAt is not null && j.FinishedAt is not null).Select(j => new JobSpan(j.StartedAt!.Value, j.FinishedAt!.Value)));
    }

    /// <summary>Every change of the in-flight count of <paramref name="spans"/>, in time order: (instant, count after the change).</summary>
    public static IReadOnlyList<(DateTimeOffset At, int InFlight)> InFlightOverTime(IEnumerable<JobSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        var events = new List<(DateTimeOffset At, int Delta)>();
        foreach (JobSpan span in spans)
        {
            events.Add((span.StartedAt, +1));
            events.Add((span.FinishedAt, -1));
        }

        events.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Delta.CompareTo(b.Delta));
        var series = new List<(DateTimeOffset, int)>(events.Count);
        int current = 0;
        foreach ((DateTimeOffset at, int delta) in events)
        {
            current += delta;
            series.Add((at, current));
        }

        return series;
    }
}
