using System.Text.Json;
using DurableJobs.Core.Serialization;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Engine.Tests;

/// <summary>Job segments are cut at 1,000 jobs or 1 MiB of JSON, whichever comes first, and the layout finds every job.</summary>
public sealed class JobSegmentLayoutTests
{
    [Fact]
    public void TwoThousandFiveHundredSmallJobs_MakeThreeSegments_OfOneThousandOneThousandAndFiveHundred()
    {
        ScheduledJob[] jobs = Jobs(2_500, 20);
        var starts = new List<int>();

        (int Segment, BinaryData Json)[] segments = [.. JobSegmentLayout.Write(jobs, starts)];

        Assert.Equal([0, 1_000, 2_000], starts);
        Assert.Equal([0, 1, 2], segments.Select(s => s.Segment));
        Assert.Equal(jobs, segments.SelectMany(s => s.Json.ToObjectFromJson<ScheduledJob[]>(DurableJobsJson.Options)!), SameJob);
    }

    [Fact]
    public void TwoHundredFiftyJobsOf64KB_MakeSegmentsOfSixteen_NoneOverOneMiB()
    {
        ScheduledJob[] jobs = Jobs(250, 64_000);
        var starts = new List<int>();

        (int Segment, BinaryData Json)[] segments = [.. JobSegmentLayout.Write(jobs, starts)];

        Assert.Equal(Enumerable.Range(0, 16).Select(i => i * 16), starts);
        Assert.All(segments, s => Assert.InRange(s.Json.ToMemory().Length, 1, JobSegmentLayout.MaxBytes));
        Assert.All(segments[..^1], s => Assert.True(s.Json.ToMemory().Length > JobSegmentLayout.MaxBytes - 64_100, "full up to the last job that fits"));
        Assert.Equal(jobs, segments.SelectMany(s => s.Json.ToObjectFromJson<ScheduledJob[]>(DurableJobsJson.Options)!), SameJob);
    }

    [Fact]
    public void AJobLargerThanTheByteBudget_GetsASegmentOfItsOwn()
    {
        ScheduledJob[] jobs = [Job(0, 10), Job(1, 5_000), Job(2, 10), Job(3, 10)];
        var starts = new List<int>();

        (int Segment, BinaryData Json)[] segments = [.. JobSegmentLayout.Write(jobs, starts, maxJobs: 1_000, maxBytes: 1_000)];

        Assert.Equal([0, 1, 2], starts);
        Assert.Equal([1, 1, 2], segments.Select(s => s.Json.ToObjectFromJson<ScheduledJob[]>(DurableJobsJson.Options)!.Length));
    }

    [Fact]
    public void SegmentOf_FindsTheSegmentHoldingEachIndex_AndStartOfItsFirstJob()
    {
        var layout = new JobSegmentLayout([0, 3, 10], 12);

        Assert.Equal([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2], Enumerable.Range(0, 12).Select(layout.SegmentOf));
        Assert.Equal([0, 3, 10], Enumerable.Range(0, 3).Select(layout.StartOf));
        Assert.Equal((0, 1, 1_000), (JobSegmentLayout.ThousandEach.SegmentOf(999), JobSegmentLayout.ThousandEach.SegmentOf(1_000), JobSegmentLayout.ThousandEach.StartOf(1)));
    }

    private static readonly IEqualityComparer<ScheduledJob> SameJob = EqualityComparer<ScheduledJob>.Create(
        (x, y) => x is not null && y is not null && (x.Index, x.Id, x.Type) == (y.Index, y.Id, y.Type) && JsonElement.DeepEquals(x.Payload!.Value, y.Payload!.Value),
        job => job.Index);

    private static ScheduledJob[] Jobs(int count, int payloadChars) => Enumerable.Range(0, count).Select(i => Job(i, payloadChars)).ToArray();

    private static ScheduledJob Job(int index, int payloadChars) =>
        new(index, $"j{index}", "echo", JsonSerializer.SerializeToElement(new { data = new string('x', payloadChars) }));
}
