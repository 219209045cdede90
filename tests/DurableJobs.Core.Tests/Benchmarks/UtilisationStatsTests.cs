using DurableJobs.Benchmarks.Utilisation;
using DurableJobs.Core.Model;

namespace DurableJobs.Core.Tests.Benchmarks;

/// <summary>The utilisation benchmark's arithmetic, on hand-built timelines whose answers are known.</summary>
public sealed class UtilisationStatsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static JobSpan Span(double startSeconds, double finishSeconds) =>
        new(T0.AddSeconds(startSeconds), T0.AddSeconds(finishSeconds));

    /// <summary>Back-to-back waves of <paramref name="cap"/> jobs of one second: every slot busy all the time.</summary>
    private static List<JobSpan> PerfectWaves(int cap, int waves, double gapSeconds = 0) =>
        [.. Enumerable.Range(0, waves).SelectMany(w => Enumerable.Range(0, cap).Select(_ => Span(w * (1 + gapSeconds), w * (1 + gapSeconds) + 1)))];

    [Fact]
    public void PerfectlyHeldCap_IsShareOne_MeanOne_PeakCap()
    {
        // 10 waves of 4 one-second jobs, back to back: 40 jobs in 10 s at a limit of 4/s.
        UtilisationStats stats = UtilisationStats.From(PerfectWaves(cap: 4, waves: 10), cap: 4, TimeSpan.FromSeconds(1));

        Assert.Equal(40, stats.Jobs);
        Assert.Equal(4.0, stats.LimitPerSecond, 9);
        Assert.Equal(4.0, stats.JobsPerSecond, 9);
        Assert.Equal(1.0, stats.ShareOfLimit, 9);
        Assert.Equal(1.0, stats.MeanInFlightOverCap, 9);
        Assert.Equal(4, stats.PeakInFlight);
        Assert.Equal(TimeSpan.FromSeconds(10), stats.Span);
        Assert.Equal(TimeSpan.FromSeconds(1), stats.MeanJobLength);
    }

    [Fact]
    public void OversleepingTimer_LowersTheShare_ButNotTheMeanInFlight()
    {
        // Jobs meant to take 10 ms that take 14 ms, one after another at cap 1: the slot is always busy (mean 1.0) but
        // only 1,000 ÷ 14 jobs/s run against a limit of 100/s: share 10/14, mean job 14 ms.
        List<JobSpan> spans = [.. Enumerable.Range(0, 100).Select(i => Span(i * 0.014, (i + 1) * 0.014))];

        UtilisationStats stats = UtilisationStats.From(spans, cap: 1, TimeSpan.FromMilliseconds(10));

        Assert.Equal(10.0 / 14, stats.ShareOfLimit, 6);
        Assert.Equal(1.0, stats.MeanInFlightOverCap, 6);
        Assert.Equal(14.0, stats.MeanJobLength.TotalMilliseconds, 3);
    }

    [Fact]
    public void ChunkAtATime_WithAHalfSecondGapBetweenWaves_IsShareTwoThirds()
    {
        // Each wave of 1 s is followed by 0.5 s with nothing running (a chunk's round trip): 10 waves end at 14.5 s.
        UtilisationStats stats = UtilisationStats.From(PerfectWaves(cap: 4, waves: 10, gapSeconds: 0.5), cap: 4, TimeSpan.FromSeconds(1));

        Assert.Equal(40 / 14.5, stats.JobsPerSecond, 9);
        Assert.Equal(40 / 14.5 / 4, stats.ShareOfLimit, 9);
        // Steady part: 1.45 s to 13.05 s (10 % off each end of 14.5 s); all 4 slots busy in the waves inside it
        // (1.5–2.5, 3–4, …, 12–13), idle in the gaps: 8 busy seconds of 11.6.
        double busy = Overlap(1.45, 13.05, Enumerable.Range(0, 10).Select(w => (w * 1.5, w * 1.5 + 1)));
        Assert.Equal(8.0, busy, 9);
        Assert.Equal(busy / 11.6, stats.MeanInFlightOverCap, 9);
        Assert.InRange(stats.MeanInFlightOverCap, 0.60, 0.72);
        Assert.Equal(4, stats.PeakInFlight);
    }

    [Fact]
    public void MeanInFlight_IsTheAreaUnderTheCurveOverTheWindow()
    {
        // One job 0–4 s, one 1–2 s, one 3–10 s. In the window 1–5: 2 jobs for 1 s, 1 for 1 s, 2 for 1 s, 1 for 1 s = 6 job-seconds / 4 s.
        JobSpan[] spans = [Span(0, 4), Span(1, 2), Span(3, 10)];

        Assert.Equal(1.5, UtilisationStats.MeanInFlight(spans, T0.AddSeconds(1), T0.AddSeconds(5)), 9);
        // Before anything starts and after everything ends nothing is in flight.
        Assert.Equal(0.0, UtilisationStats.MeanInFlight(spans, T0.AddSeconds(-5), T0.AddSeconds(-1)), 9);
        Assert.Equal(0.0, UtilisationStats.MeanInFlight(spans, T0.AddSeconds(11), T0.AddSeconds(20)), 9);
        // A window of no length is the count at that instant; at 1 s the second job has started.
        Assert.Equal(2.0, UtilisationStats.MeanInFlight(spans, T0.AddSeconds(1.5), T0.AddSeconds(1.5)), 9);
    }

    [Fact]
    public void JobThatFinishesAsAnotherStarts_DoesNotCountAsOverlap()
    {
        // Cap 1, three jobs handing over at exactly 1 s and 2 s: the peak is 1, not 2.
        UtilisationStats stats = UtilisationStats.From([Span(0, 1), Span(1, 2), Span(2, 3)], cap: 1, TimeSpan.FromSeconds(1));

        Assert.Equal(1, stats.PeakInFlight);
        Assert.Equal(1.0, stats.ShareOfLimit, 9);
    }

    [Fact]
    public void BrokenCap_ShowsAsPeakAboveCap()
    {
        // Cap 2, but three jobs overlap between 0.5 s and 1 s.
        UtilisationStats stats = UtilisationStats.From([Span(0, 1), Span(0, 1), Span(0.5, 1.5)], cap: 2, TimeSpan.FromSeconds(1));

        Assert.Equal(3, stats.PeakInFlight);
    }

    [Fact]
    public void SteadyPart_LeavesOutTheRampAndTheTail()
    {
        // Cap 10, 10 s: one job 0–10 s, nine jobs 1–9 s. The steady part (1–9 s) sees all 10; the whole span would see 8.2.
        List<JobSpan> spans = [Span(0, 10), .. Enumerable.Range(0, 9).Select(_ => Span(1, 9))];

        UtilisationStats stats = UtilisationStats.From(spans, cap: 10, TimeSpan.FromSeconds(8));

        Assert.Equal(1.0, stats.MeanInFlightOverCap, 9);
        Assert.Equal(8.2, UtilisationStats.MeanInFlight(spans, T0, T0.AddSeconds(10)), 9);
    }

    [Fact]
    public void NoJobs_OrAJobFinishingBeforeItStarts_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => UtilisationStats.From([], cap: 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => UtilisationStats.From([Span(2, 1)], cap: 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => UtilisationStats.MeanInFlight([Span(0, 1)], T0.AddSeconds(1), T0));
    }

    /// <summary>Seconds of [from, to] covered by the intervals (which must not overlap one another).</summary>
    private static double Overlap(double from, double to, IEnumerable<(double Start, double End)> intervals) =>
        intervals.Sum(i => Math.Max(0, Math.Min(to, i.End) - Math.Max(from, i.Start)));
}
