using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// What one run of <c>jobs</c> jobs of one duration at one cap made of the cap, computed only from the jobs' own start
/// and finish times (so it measures any engine the same way, and needs no storage to test).
/// </summary>
/// <param name="Jobs">Jobs that ran (had both times).</param>
/// <param name="FirstStart">The earliest start.</param>
/// <param name="LastFinish">The latest finish.</param>
/// <param name="LimitPerSecond">The physical limit: cap ÷ duration, the most jobs/s any system can run.</param>
/// <param name="JobsPerSecond">Jobs ÷ (last finish − first start).</param>
/// <param name="MeanInFlightOverCap">The time-weighted mean of jobs in flight over the steady part, ÷ cap.</param>
/// <param name="PeakInFlight">The most jobs in flight at one instant (above the cap means the cap was broken).</param>
/// <param name="MeanJobLength">The mean of finish − start: a timer that oversleeps (10 ms waits take longer on most
/// machines) lowers the share of the limit even with every slot busy, and this column shows by how much.</param>
internal sealed record UtilisationStats(int Jobs, DateTimeOffset FirstStart, DateTimeOffset LastFinish, double LimitPerSecond, double JobsPerSecond, double MeanInFlightOverCap, int PeakInFlight, TimeSpan MeanJobLength)
{
    /// <summary>
    /// The share of each end of the batch's span left out of the steady part: the ramp-up as the first jobs are handed
    /// out and the tail as the last ones drain are the same for every system, and on a short batch they would swamp
    /// what happens in between.
    /// </summary>
    public const double TrimmedShare = 0.10;

    /// <summary>Jobs/s as a share of the physical limit (1 = every slot busy from the first start to the last finish).</summary>
    public double ShareOfLimit => JobsPerSecond / LimitPerSecond;

    /// <summary>The span from the first start to the last finish.</summary>
    public TimeSpan Span => LastFinish - FirstStart;

    /// <summary>The stats of <paramref name="spans"/>, jobs of <paramref name="duration"/> each at <paramref name="cap"/>.</summary>
    /// <exception cref="ArgumentException">No spans, or a span that finishes before it starts.</exception>
    public static UtilisationStats From(IReadOnlyCollection<JobSpan> spans, int cap, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(spans);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        if (spans.Count == 0)
        {
            throw new ArgumentException("No jobs ran.", nameof(spans));
        }

        if (spans.Any(s => s.FinishedAt < s.StartedAt))
        {
            throw new ArgumentException("A job finished before it started.", nameof(spans));
        }

        DateTimeOffset first = spans.Min(s => s.StartedAt);
        DateTimeOffset last = spans.Max(s => s.FinishedAt);
        double seconds = (last - first).TotalSeconds;
        TimeSpan trim = (last - first) * TrimmedShare;
        double mean = MeanInFlight(spans, first + trim, last - trim);
        int peak = JobTimeline.InFlightOverTime(spans).Select(p => p.InFlight).DefaultIfEmpty(0).Max();
        double limit = cap / duration.TotalSeconds;
        // A batch whose jobs all started and finished at one instant ran at no measurable rate; say infinity, not NaN.
        double rate = seconds > 0 ? spans.Count / seconds : double.PositiveInfinity;
        var meanLength = TimeSpan.FromTicks((long)spans.Average(s => (s.FinishedAt - s.StartedAt).Ticks));
        return new UtilisationStats(spans.Count, first, last, limit, rate, mean / cap, peak, meanLength);
    }

    /// <summary>
    /// The time-weighted mean number of <paramref name="spans"/> in flight between <paramref name="from"/> and
    /// <paramref name="to"/>: the area under the in-flight curve over the window, ÷ the window's length. A window of no
    /// length gives the count in flight at that instant.
    /// </summary>
    public static double MeanInFlight(IEnumerable<JobSpan> spans, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(spans);
        if (to < from)
        {
            throw new ArgumentException("The window ends before it starts.", nameof(to));
        }

        IReadOnlyList<(DateTimeOffset At, int InFlight)> series = JobTimeline.InFlightOverTime(spans);
        int current = 0;
        int index = 0;
        // The count in flight at `from`: every change at or before it has happened.
        while (index < series.Count && series[index].At <= from)
        {
            current = series[index].InFlight;
            index++;
        }

        if (to == from)
        {
            return current;
        }

        double area = 0;
        DateTimeOffset cursor = from;
        for (; index < series.Count && series[index].At < to; index++)
        {
            area += current * (series[index].At - cursor).TotalSeconds;
            cursor = series[index].At;
            current = series[index].InFlight;
        }

        area += current * (to - cursor).TotalSeconds;
        return area / (to - from).TotalSeconds;
    }
}
