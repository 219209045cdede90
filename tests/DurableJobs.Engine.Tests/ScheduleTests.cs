using System.Globalization;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Schedules;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>Recurring schedules on the embedded engine and a real Azurite: each test a few seconds of a per-second schedule.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class ScheduleTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // As DurabilityTests: a stopped worker's leases and messages come back within seconds, not minutes.
    private static readonly Dictionary<string, string?> FastFailover = new()
    {
        ["DurableJobs:LeaseInterval"] = "00:00:05",
        ["DurableJobs:LeaseRenewInterval"] = "00:00:01",
        ["DurableJobs:LeaseAcquireInterval"] = "00:00:01",
        ["DurableJobs:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["DurableJobs:ControlQueueVisibilityTimeout"] = "00:00:10",
    };

    private readonly ProbeJobHandler probe = new();
    private readonly string hub = "sched" + Guid.NewGuid().ToString("N")[..12];
    private EngineHost? host;

    private BatchClient Batches => host!.Client;

    private IScheduleClient Schedules => host!.Services.GetRequiredService<IScheduleClient>();

    public async Task InitializeAsync() =>
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task EverySecond_FiresOncePerSecond_ForEightSeconds_NoGapNoDuplicate_TickLatenessReported()
    {
        await SetAsync("tick", Definition("* * * * * *", "echo", new { }, ScheduleOverlap.Allow));
        await Task.Delay(TimeSpan.FromSeconds(8.5));
        Assert.Equal(ScheduleCommandOutcome.Accepted, await Schedules.DeleteAsync("tick"));

        IReadOnlyList<BatchView> batches = await BatchesOfAsync("tick");
        DateTime[] occurrences = batches.Select(b => OccurrenceOf("tick", b.Id)).Order().ToArray();
        output.WriteLine($"{batches.Count} batches: {string.Join(", ", occurrences.Select(o => o.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}");

        // One batch per second of the run, consecutive, and never two for one occurrence (ids are per occurrence).
        Assert.InRange(batches.Count, 7, 10);
        Assert.Equal(occurrences.Length, occurrences.Distinct().Count());
        Assert.All(occurrences.Zip(occurrences.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(1), pair.Second - pair.First));

        double[] lateness = batches.Select(b => (b.CreatedAt.UtcDateTime - OccurrenceOf("tick", b.Id)).TotalMilliseconds).Order().ToArray();
        output.WriteLine($"tick lateness (batch created - occurrence): p50 {Percentile(lateness, 0.5):0} ms, p99 {Percentile(lateness, 0.99):0} ms, max {lateness[^1]:0} ms");
        Assert.All(lateness, l => Assert.InRange(l, 0, 2_000));
    }

    [Fact]
    public async Task SkipOverlap_WhileAThreeSecondRunIsGoing_LaterOccurrencesAreSkipped_RunsNeverOverlap()
    {
        await SetAsync("slow", Definition("* * * * * *", "probe", new { ms = 3_000 }, ScheduleOverlap.Skip));
        await Task.Delay(TimeSpan.FromSeconds(7.5));
        ScheduleView view = (await Schedules.GetAsync("slow"))!;
        await Schedules.DeleteAsync("slow");

        // A run started just before the delete may not have begun its job yet: wait until every run's job has.
        IReadOnlyList<BatchView> batches = await Eventually.MatchAsync(
            async () => (IReadOnlyList<BatchView>)(await BatchesOfAsync("slow")).OrderBy(b => b.CreatedAt).ToList(), b => b.All(x => probe.For(x.Id).Count > 0), Patience, TimeSpan.FromMilliseconds(200), "every run's job started");
        output.WriteLine(string.Join(Environment.NewLine, view.Runs.Select(r => $"{r.Occurrence:HH:mm:ss} {r.Disposition} {r.BatchId} {r.Outcome} {r.Detail}")));
        Assert.InRange(batches.Count, 2, 3);
        Assert.Contains(view.Runs, r => r.Disposition == OccurrenceDisposition.Skipped);
        ProbeRecord[] runs = batches.Select(b => Assert.Single(probe.For(b.Id))).ToArray();
        Assert.All(runs.Zip(runs.Skip(1)), pair => Assert.True(pair.Second.StartedAt >= pair.First.EndedAt, $"{pair.Second.StartedAt:O} began before {pair.First.EndedAt:O}"));
    }

    [Fact]
    public async Task Pause_StopsTheRuns_ForThreeSeconds_Resume_StartsThemAgain()
    {
        await SetAsync("pausable", Definition("* * * * * *", "echo", new { }, ScheduleOverlap.Allow));
        await Eventually.MatchAsync(() => BatchesOfAsync("pausable"), b => b.Count >= 2, Patience, TimeSpan.FromMilliseconds(200), "two runs");

        Assert.Equal(ScheduleCommandOutcome.Accepted, await Schedules.PauseAsync("pausable"));
        ScheduleView paused = await Eventually.MatchAsync(async () => (await Schedules.GetAsync("pausable"))!, v => v.Paused, Patience, TimeSpan.FromMilliseconds(100), "paused");
        Assert.Empty(paused.NextOccurrences);
        int before = (await BatchesOfAsync("pausable")).Count;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(before, (await BatchesOfAsync("pausable")).Count);

        Assert.Equal(ScheduleCommandOutcome.Accepted, await Schedules.ResumeAsync("pausable"));
        await Eventually.MatchAsync(() => BatchesOfAsync("pausable"), b => b.Count >= before + 2, Patience, TimeSpan.FromMilliseconds(200), "runs after resume");
        await Schedules.DeleteAsync("pausable");
    }

    [Fact]
    public async Task Delete_StopsItForGood_TheNameIsFreeAgain_AndTriggerRunsAtOnce()
    {
        await SetAsync("doomed", Definition("* * * * * *", "echo", new { }, ScheduleOverlap.Allow));
        await Eventually.MatchAsync(() => BatchesOfAsync("doomed"), b => b.Count >= 2, Patience, TimeSpan.FromMilliseconds(200), "two runs");

        Assert.Equal(ScheduleCommandOutcome.Accepted, await Schedules.DeleteAsync("doomed"));
        Assert.Null(await Schedules.GetAsync("doomed"));
        Assert.Equal(ScheduleCommandOutcome.NotFound, await Schedules.PauseAsync("doomed"));
        int after = (await BatchesOfAsync("doomed")).Count;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(after, (await BatchesOfAsync("doomed")).Count);

        // The same name again, yearly: nothing until a trigger, which starts one batch at once.
        await SetAsync("doomed", Definition("0 0 1 1 *", "echo", new { }, ScheduleOverlap.Skip));
        Assert.Equal(ScheduleCommandOutcome.Accepted, await Schedules.TriggerAsync("doomed"));
        ScheduleView view = await Eventually.MatchAsync(async () => (await Schedules.GetAsync("doomed"))!, v => v.Runs.Any(r => r.Trigger == "manual" && r.Outcome == BatchStatus.Completed), Patience, TimeSpan.FromMilliseconds(200), "the triggered run");
        Assert.StartsWith("doomed-manual-", Assert.Single(view.Runs).BatchId, StringComparison.Ordinal);
        Assert.Equal(after + 1, (await BatchesOfAsync("doomed")).Count);
        await Schedules.DeleteAsync("doomed");
    }

    [Fact]
    public async Task QueueOneOverlap_BehindATwoAndAHalfSecondRun_OneOccurrenceWaits_AndStartsWhenTheRunEnds_UnderItsOwnId()
    {
        await SetAsync("queued", Definition("* * * * * *", "probe", new { ms = 2_500 }, ScheduleOverlap.QueueOne));
        // The schedule's view shows a start once its next wake has published it: wait on the view, not the batches.
        ScheduleView view = await Eventually.MatchAsync(
            async () => (await Schedules.GetAsync("queued"))!, v => v.Runs.Count(r => r.Disposition == OccurrenceDisposition.Started) >= 2, Patience, TimeSpan.FromMilliseconds(200), "a queued run started");
        await Schedules.DeleteAsync("queued");

        output.WriteLine(string.Join(Environment.NewLine, view.Runs.Select(r => $"{r.Occurrence:HH:mm:ss} {r.Trigger} {r.Disposition} {r.BatchId} {r.Outcome} {r.Detail}")));
        ScheduleRunView second = view.Runs.Where(r => r.Disposition == OccurrenceDisposition.Started).OrderBy(r => r.Occurrence).Skip(1).First();
        Assert.Equal("queued", second.Trigger);
        Assert.Equal(ScheduleCalendar.BatchIdOf("queued", second.Occurrence.UtcDateTime), second.BatchId);
        Assert.Contains(view.Runs, r => r.Disposition == OccurrenceDisposition.Skipped && r.Detail == "An occurrence was already queued.");

        // The queued run starts after the first one ended, and within the 2 s check interval plus a start. The view shows
        // the queued run once its batch is started, which may be before its job is: wait for both jobs to have begun.
        BatchView[] firstTwo = await Eventually.MatchAsync(
            async () => (await BatchesOfAsync("queued")).OrderBy(b => b.CreatedAt).Take(2).ToArray(), b => b.Length == 2 && b.All(x => probe.For(x.Id).Count > 0), Patience, TimeSpan.FromMilliseconds(200), "both runs' jobs started");
        ProbeRecord[] runs = firstTwo.Select(b => Assert.Single(probe.For(b.Id))).ToArray();
        TimeSpan gap = runs[1].StartedAt - runs[0].EndedAt!.Value;
        output.WriteLine($"queued run started {gap.TotalMilliseconds:0} ms after the first ended");
        Assert.InRange(gap, TimeSpan.Zero, TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task TheSameOccurrenceStartedTwiceAtOnce_StartsOneBatch_TheOtherFindsIt()
    {
        StartScheduledBatchActivity activity = ActivatorUtilities.CreateInstance<StartScheduledBatchActivity>(host!.Services);
        DateTime occurrence = new(2026, 12, 1, 2, 0, 0, DateTimeKind.Utc);
        var start = new ScheduledBatchStart
        {
            Schedule = "twice", OccurrenceUtc = occurrence, DueUtc = occurrence, Trigger = "cron",
            BatchId = ScheduleCalendar.BatchIdOf("twice", occurrence),
            Template = Definition("* * * * *", "probe", new { ms = 200 }, ScheduleOverlap.Skip).Template!,
        };

        ScheduledBatchStarted[] both = await Task.WhenAll(activity.StartAsync(start), activity.StartAsync(start));

        Assert.All(both, b => Assert.True(b.Started));
        Assert.Equal(1, both.Count(b => b.Existed));
        BatchView batch = Assert.Single(await BatchesOfAsync("twice"));
        await Eventually.MatchAsync(async () => (await Batches.GetAsync(batch.Id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), "finished");
        Assert.Single(probe.For(batch.Id));
    }

    [Fact]
    public async Task WholeClusterStoppedForSixSeconds_CatchUpLatest_RunsTheLatestMissedOnce_CatchUpSkip_RunsNone_BothGoOn()
    {
        // A 2 s grace period, so a 6 s outage misses about four occurrences.
        await SetAsync("latest", Definition("* * * * * *", "echo", new { }, ScheduleOverlap.Allow) with { CatchUp = ScheduleCatchUp.Latest, GraceSeconds = 2 });
        await SetAsync("skip", Definition("* * * * * *", "echo", new { }, ScheduleOverlap.Allow) with { CatchUp = ScheduleCatchUp.Skip, GraceSeconds = 2 });
        await Eventually.MatchAsync(async () => (await BatchesOfAsync("latest")).Count + (await BatchesOfAsync("skip")).Count, n => n >= 4, Patience, TimeSpan.FromMilliseconds(200), "both running");

        await host!.StopAsync();
        host = null;
        DateTime stopped = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(6));
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);
        DateTime restarted = DateTime.UtcNow;

        ScheduleView latest = await Eventually.MatchAsync(async () => (await Schedules.GetAsync("latest"))!, v => v.Runs.Any(r => r.Trigger == "catch-up" && r.Outcome == BatchStatus.Completed), Patience, TimeSpan.FromMilliseconds(200), "the catch-up run");
        ScheduleView skip = await Eventually.MatchAsync(async () => (await Schedules.GetAsync("skip"))!, v => v.Runs.Any(r => r.Disposition == OccurrenceDisposition.Missed), Patience, TimeSpan.FromMilliseconds(200), "the missed record");

        // Both go on with on-time runs after the restart.
        await Eventually.MatchAsync(async () => (await BatchesOfAsync("skip")).Count(b => OccurrenceOf("skip", b.Id) > restarted), n => n >= 2, Patience, TimeSpan.FromMilliseconds(200), "skip runs again");
        await Eventually.MatchAsync(async () => (await BatchesOfAsync("latest")).Count(b => OccurrenceOf("latest", b.Id) > restarted), n => n >= 2, Patience, TimeSpan.FromMilliseconds(200), "latest runs again");
        latest = (await Schedules.GetAsync("latest"))!;
        skip = (await Schedules.GetAsync("skip"))!;
        await Schedules.DeleteAsync("latest");
        await Schedules.DeleteAsync("skip");
        output.WriteLine("latest:" + Environment.NewLine + string.Join(Environment.NewLine, latest.Runs.Select(r => $"  {r.Occurrence:HH:mm:ss} {r.Trigger} {r.Disposition} {r.BatchId} {r.Outcome} {r.Detail}")));
        output.WriteLine("skip:" + Environment.NewLine + string.Join(Environment.NewLine, skip.Runs.Select(r => $"  {r.Occurrence:HH:mm:ss} {r.Trigger} {r.Disposition} {r.BatchId} {r.Outcome} {r.Detail}")));

        ScheduleRunView caughtUp = Assert.Single(latest.Runs, r => r.Trigger == "catch-up");
        Assert.InRange(caughtUp.Occurrence.UtcDateTime, stopped, restarted);
        ScheduleRunView latestMissed = Assert.Single(latest.Runs, r => r.Disposition == OccurrenceDisposition.Missed);
        Assert.InRange(int.Parse(latestMissed.Detail!.Split(' ')[0], CultureInfo.InvariantCulture), 3, 12);

        Assert.DoesNotContain(skip.Runs, r => r.Trigger == "catch-up");
        ScheduleRunView skipMissed = Assert.Single(skip.Runs, r => r.Disposition == OccurrenceDisposition.Missed);
        Assert.InRange(int.Parse(skipMissed.Detail!.Split(' ')[0], CultureInfo.InvariantCulture), 4, 13);

        // No batch of the skip schedule for an occurrence older than its grace period when it was handled.
        DateTime[] skipOccurrences = (await BatchesOfAsync("skip")).Select(b => OccurrenceOf("skip", b.Id)).ToArray();
        Assert.DoesNotContain(skipOccurrences, o => o > stopped.AddSeconds(1) && o <= skipMissed.Occurrence.UtcDateTime);
    }

    [Fact]
    public async Task InvalidSchedule_StoresNothing()
    {
        ScheduleSetOutcome outcome = await Schedules.SetAsync("bad", Definition("0 2 * *", "echo", new { }, ScheduleOverlap.Skip) with { TimeZone = "Nowhere/Land" });

        Assert.False(outcome.Accepted);
        Assert.Equal(["cron", "timeZone"], outcome.Validation.Problems.Select(p => p.Path));
        Assert.Null(await Schedules.GetAsync("bad"));
        Assert.Empty(await Schedules.ListAsync());
    }

    private async Task SetAsync(string name, ScheduleDefinition definition)
    {
        ScheduleSetOutcome outcome = await Schedules.SetAsync(name, definition);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
    }

    private static ScheduleDefinition Definition(string cron, string type, object payload, ScheduleOverlap overlap) => new()
    {
        Cron = cron,
        Overlap = overlap,
        Template = new BatchRequest { Jobs = [new JobSpec { Type = type, Payload = JsonSerializer.SerializeToElement(payload) }], DeadlineSeconds = 60 },
    };

    private async Task<IReadOnlyList<BatchView>> BatchesOfAsync(string schedule) =>
        (await Batches.ListAsync(top: 500)).Items.Where(b => b.Id.StartsWith(schedule + "-", StringComparison.Ordinal)).ToList();

    private static DateTime OccurrenceOf(string schedule, string batchId) =>
        DateTime.ParseExact(batchId[(schedule.Length + 1)..], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
