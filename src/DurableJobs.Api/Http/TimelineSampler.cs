using DurableJobs.Api.Responses;

namespace DurableJobs.Api.Http;

/// <summary>Reduces an in-flight step series to a bounded number of points without hiding its peaks.</summary>
internal static class TimelineSampler
{
    /// <summary>
    /// The series as at most <paramref name="maxPoints"/> steps. Short series come back whole (changes at the
    /// same instant collapsed); longer ones are cut into equal time buckets, each reporting the largest count it
    /// saw, including the count carried in from before it. The last point is the series' final count at its end.
    /// </summary>
    public static IReadOnlyList<TimelinePoint> Sample(IReadOnlyList<(DateTimeOffset At, int InFlight)> series, int maxPoints)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 2);
        if (series.Count == 0)
        {
            return [];
        }

        // Several changes at one instant are one step; only the count after the last of them lasts any time.
        var steps = new List<(DateTimeOffset At, int InFlight)>(series.Count);
        foreach ((DateTimeOffset at, int inFlight) in series)
        {
            if (steps.Count > 0 && steps[^1].At == at)
            {
                steps[^1] = (at, inFlight);
            }
            else
            {
                steps.Add((at, inFlight));
            }
        }

        DateTimeOffset from = steps[0].At;
        double Offset(DateTimeOffset at) => (at - from).TotalSeconds;
        if (steps.Count <= maxPoints)
        {
            return steps.Select(s => new TimelinePoint(Offset(s.At), s.InFlight)).ToList();
        }

        // One bucket fewer than points: the final point (the end of the series) is reported on its own.
        int buckets = maxPoints - 1;
        double span = Offset(steps[^1].At);
        var points = new List<TimelinePoint>(maxPoints);
        int i = 0;
        int carried = 0;
        for (int b = 0; b < buckets; b++)
        {
            double end = span * (b + 1) / buckets;
            int max = carried;
            while (i < steps.Count - 1 && Offset(steps[i].At) < end)
            {
                carried = steps[i].InFlight;
                max = Math.Max(max, carried);
                i++;
            }

            points.Add(new TimelinePoint(span * b / buckets, max));
        }

        points.Add(new TimelinePoint(span, steps[^1].InFlight));
        return points;
    }
}
