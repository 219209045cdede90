using DurableJobs.Api.Http;
using DurableJobs.Api.Responses;

namespace DurableJobs.Api.Tests;

public sealed class TimelineSamplerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_short_series_comes_back_whole_with_changes_at_one_instant_collapsed()
    {
        (DateTimeOffset, int)[] series = [(T0, 1), (T0.AddSeconds(1), 0), (T0.AddSeconds(1), 1), (T0.AddSeconds(3), 0)];

        IReadOnlyList<TimelinePoint> points = TimelineSampler.Sample(series, 200);

        Assert.Equal([new TimelinePoint(0, 1), new TimelinePoint(1, 1), new TimelinePoint(3, 0)], points);
    }

    [Fact]
    public void A_long_series_is_cut_to_the_limit_and_keeps_a_one_tick_peak()
    {
        // 10,000 changes alternating 2 and 3, with a single brief spike to 9 in the middle.
        var series = new List<(DateTimeOffset, int)>();
        for (int i = 0; i < 10_000; i++)
        {
            series.Add((T0.AddMilliseconds(i * 10), i == 5_000 ? 9 : 2 + (i % 2)));
        }

        series.Add((T0.AddMilliseconds(100_000), 0));

        IReadOnlyList<TimelinePoint> points = TimelineSampler.Sample(series, 50);

        Assert.Equal(50, points.Count);
        Assert.Equal(9, points.Max(p => p.InFlight));
        Assert.Single(points, p => p.InFlight == 9);
        Assert.Equal(new TimelinePoint(100, 0), points[^1]);
        Assert.Equal(0, points[0].Seconds);
        Assert.True(points.Zip(points.Skip(1)).All(pair => pair.First.Seconds < pair.Second.Seconds), "points are in time order");
    }

    [Fact]
    public void A_count_carried_into_a_bucket_without_changes_is_reported()
    {
        // 5 in flight from 0 s to 90 s, nothing changing in between: every bucket in that span shows 5.
        (DateTimeOffset, int)[] series = [(T0, 5), (T0.AddSeconds(90), 4), (T0.AddSeconds(95), 2), (T0.AddSeconds(100), 0)];

        IReadOnlyList<TimelinePoint> points = TimelineSampler.Sample(series, 3);

        Assert.Equal([new TimelinePoint(0, 5), new TimelinePoint(50, 5), new TimelinePoint(100, 0)], points);
    }

    [Fact]
    public void An_empty_series_has_no_points() => Assert.Empty(TimelineSampler.Sample([], 10));
}
