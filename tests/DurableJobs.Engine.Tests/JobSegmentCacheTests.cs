using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Engine.Tests;

/// <summary>The job segment cache stays within its segment and byte bounds, dropping the least recently used first.</summary>
public sealed class JobSegmentCacheTests
{
    private static readonly IReadOnlyList<ScheduledJob> Jobs = [];

    [Fact]
    public void DropsLeastRecentlyUsed_WhenFull()
    {
        var cache = new JobSegmentCache<IReadOnlyList<ScheduledJob>>(maxSegments: 2, maxBytes: 1_000);
        cache.Add("a", Jobs, 10);
        cache.Add("b", Jobs, 10);
        Assert.True(cache.TryGet("a", out _)); // a is now the most recent

        cache.Add("c", Jobs, 10);

        Assert.True(cache.TryGet("a", out _));
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("c", out _));
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void StaysWithinItsBytes_AndKeepsNoSegmentLargerThanThem()
    {
        var cache = new JobSegmentCache<IReadOnlyList<ScheduledJob>>(maxSegments: 10, maxBytes: 100);
        cache.Add("a", Jobs, 60);
        cache.Add("b", Jobs, 60);

        Assert.False(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("b", out _));
        Assert.Equal(60, cache.Bytes);

        cache.Add("huge", Jobs, 101);

        Assert.False(cache.TryGet("huge", out _));
        Assert.True(cache.TryGet("b", out _));
    }

    [Fact]
    public void Estimate_GrowsWithJobsAndText() =>
        Assert.True(JobSegmentCache.Estimate(36_000, 1_000) is > 300_000 and < 1_000_000);
}
