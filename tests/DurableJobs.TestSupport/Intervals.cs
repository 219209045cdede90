namespace DurableJobs.Testing;

/// <summary>Interval arithmetic for asserting concurrency from recorded start and finish times.</summary>
public static class Intervals
{
    /// <summary>The most intervals that overlap at any instant; an interval ending exactly when another starts does not overlap it.</summary>
    public static int MaxOverlap(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> intervals)
    {
        var events = new List<(DateTimeOffset At, int Delta)>();
        foreach ((DateTimeOffset start, DateTimeOffset end) in intervals)
        {
            events.Add((start, +1));
            events.Add((end, -1));
        }

        // Ends sort before starts at the same instant.
        events.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Delta.CompareTo(b.Delta));
        int current = 0, max = 0;
        foreach ((_, int delta) in events)
        {
            current += delta;
            max = Math.Max(max, current);
        }

        return max;
    }

    /// <summary>
    /// How long, between <paramref name="from"/> and <paramref name="to"/>, fewer than <paramref name="threshold"/> of
    /// the intervals overlapped: the idle slot time a cap that should be held shows.
    /// </summary>
    public static TimeSpan TimeBelow(IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> intervals, int threshold, DateTimeOffset from, DateTimeOffset to)
    {
        var events = new List<(DateTimeOffset At, int Delta)>();
        foreach ((DateTimeOffset start, DateTimeOffset end) in intervals)
        {
            events.Add((start, +1));
            events.Add((end, -1));
        }

        events.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Delta.CompareTo(b.Delta));
        TimeSpan below = TimeSpan.Zero;
        int current = 0;
        DateTimeOffset last = from;
        foreach ((DateTimeOffset at, int delta) in events)
        {
            DateTimeOffset clipped = at < from ? from : at > to ? to : at;
            if (current < threshold && clipped > last)
            {
                below += clipped - last;
            }

            last = clipped > last ? clipped : last;
            current += delta;
        }

        if (current < threshold && to > last)
        {
            below += to - last;
        }

        return below;
    }
}
