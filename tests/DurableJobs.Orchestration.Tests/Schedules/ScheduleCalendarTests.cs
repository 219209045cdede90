using System.Text.Json;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Schedules;

namespace DurableJobs.Orchestration.Tests.Schedules;

/// <summary>The occurrence logic of schedules, as plain functions: no storage, no clock.</summary>
public sealed class ScheduleCalendarTests
{
    private static DateTime Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime;

    private static ScheduleCalendar Calendar(string cron, string zone = "UTC", DateTimeOffset? start = null, DateTimeOffset? end = null, double? jitter = null) =>
        ScheduleCalendar.Create(new ScheduleDefinition { Cron = cron, TimeZone = zone, StartAt = start, EndAt = end, JitterSeconds = jitter, Template = new BatchRequest() });

    [Fact]
    public void NightlyAt0200Berlin_IsAt0100UtcInWinter_And0000UtcInSummer()
    {
        ScheduleCalendar nightly = Calendar("0 2 * * *", "Europe/Berlin");
        Assert.Equal(Utc("2026-12-02T01:00:00Z"), nightly.Next(Utc("2026-12-01T05:00:00Z")));
        Assert.Equal(Utc("2026-07-02T00:00:00Z"), nightly.Next(Utc("2026-07-01T05:00:00Z")));
    }

    [Fact]
    public void SpringForward_0230BerlinDoesNotExistOn29March2026_RunsOnceAtTheTransition0300Cest()
    {
        // 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC): 02:30 local never happens that night.
        ScheduleCalendar calendar = Calendar("30 2 * * *", "Europe/Berlin");
        IReadOnlyList<DateTime> runs = calendar.Between(Utc("2026-03-28T00:00:00Z"), Utc("2026-03-31T00:00:00Z"), 10);

        Assert.Equal([Utc("2026-03-28T01:30:00Z"), Utc("2026-03-29T01:00:00Z"), Utc("2026-03-30T00:30:00Z")], runs);
    }

    [Fact]
    public void FallBack_0230BerlinHappensTwiceOn25October2026_RunsOnce_AtTheFirst0230Cest()
    {
        // 2026-10-25 03:00 CEST goes back to 02:00 CET (01:00 UTC): 02:30 local is 00:30 UTC and again 01:30 UTC.
        ScheduleCalendar calendar = Calendar("30 2 * * *", "Europe/Berlin");
        IReadOnlyList<DateTime> runs = calendar.Between(Utc("2026-10-24T00:00:00Z"), Utc("2026-10-27T00:00:00Z"), 10);

        Assert.Equal([Utc("2026-10-24T00:30:00Z"), Utc("2026-10-25T00:30:00Z"), Utc("2026-10-26T01:30:00Z")], runs);
    }

    [Fact]
    public void Hourly_KeepsRealTimeSpacing_25RunsOnTheFallBackDay_23OnTheSpringForwardDay()
    {
        ScheduleCalendar hourly = Calendar("0 * * * *", "Europe/Berlin");

        // Local midnight to midnight: 2026-10-24T22:00Z to 2026-10-25T23:00Z is 25 real hours; March's day is 23.
        Assert.Equal(25, hourly.Between(Utc("2026-10-24T21:59:59Z"), Utc("2026-10-25T22:59:59Z"), 100).Count);
        Assert.Equal(23, hourly.Between(Utc("2026-03-28T22:59:59Z"), Utc("2026-03-29T21:59:59Z"), 100).Count);
    }

    [Fact]
    public void SixFields_CountSeconds_FiveFields_CountMinutes()
    {
        Assert.Equal(Utc("2026-12-01T05:00:01Z"), Calendar("* * * * * *").Next(Utc("2026-12-01T05:00:00Z")));
        Assert.Equal(Utc("2026-12-01T05:01:00Z"), Calendar("* * * * *").Next(Utc("2026-12-01T05:00:00Z")));
        Assert.Equal(Utc("2026-12-02T00:00:00Z"), Calendar("@daily").Next(Utc("2026-12-01T05:00:00Z")));
    }

    [Fact]
    public void StartAndEndDates_BoundTheOccurrences_StartInclusive_EndInclusive()
    {
        ScheduleCalendar calendar = Calendar("0 * * * *", start: DateTimeOffset.Parse("2026-12-01T10:00:00Z"), end: DateTimeOffset.Parse("2026-12-01T12:00:00Z"));

        Assert.Equal(Utc("2026-12-01T10:00:00Z"), calendar.Next(Utc("2026-12-01T05:00:00Z")));
        Assert.Equal([Utc("2026-12-01T10:00:00Z"), Utc("2026-12-01T11:00:00Z"), Utc("2026-12-01T12:00:00Z")], calendar.Between(Utc("2026-12-01T00:00:00Z"), Utc("2026-12-02T00:00:00Z"), 10));
        Assert.Null(calendar.Next(Utc("2026-12-01T12:00:00Z")));
        Assert.Equal(Utc("2026-12-01T12:00:00Z"), calendar.Latest(Utc("2026-12-01T00:00:00Z"), Utc("2026-12-05T00:00:00Z")));
        Assert.Null(calendar.Latest(Utc("2026-12-01T00:00:00Z"), Utc("2026-12-01T09:59:59Z")));
    }

    [Fact]
    public void Latest_IsTheLastOccurrenceInTheWindow_ExclusiveOfItsStart()
    {
        ScheduleCalendar minutely = Calendar("* * * * *");
        Assert.Equal(Utc("2026-12-01T05:07:00Z"), minutely.Latest(Utc("2026-12-01T05:00:00Z"), Utc("2026-12-01T05:07:30Z")));
        Assert.Null(minutely.Latest(Utc("2026-12-01T05:07:00Z"), Utc("2026-12-01T05:07:30Z")));
    }

    [Fact]
    public void BatchIds_AreTheNameAndTheOccurrenceInUtc_TheSameForTheSameOccurrence()
    {
        Assert.Equal("nightly-20261202T010000Z", ScheduleCalendar.BatchIdOf("nightly", Utc("2026-12-02T01:00:00Z")));
        Assert.Equal(ScheduleCalendar.BatchIdOf("n", Utc("2026-12-02T01:00:00Z")), ScheduleCalendar.BatchIdOf("n", DateTime.SpecifyKind(Utc("2026-12-02T01:00:00Z"), DateTimeKind.Unspecified)));
        Assert.Equal("nightly-manual-20261202T010000250Z", ScheduleCalendar.ManualBatchIdOf("nightly", Utc("2026-12-02T01:00:00.250Z")));
        Assert.True(Core.Validation.BatchValidator.IsValidId(ScheduleCalendar.ManualBatchIdOf(new string('n', ScheduleCalendar.MaxNameLength), DateTime.UtcNow)));
        Assert.True(ScheduleCalendar.ManualBatchIdOf(new string('n', ScheduleCalendar.MaxNameLength), DateTime.UtcNow).Length <= new Core.Validation.BatchLimits().MaxIdLength);
    }

    [Fact]
    public void Jitter_IsWithinItsBound_FixedPerOccurrence_AndSpreadAcrossOccurrences()
    {
        ScheduleCalendar calendar = Calendar("* * * * *", jitter: 30);
        DateTime first = Utc("2026-12-01T05:00:00Z");
        TimeSpan[] jitters = Enumerable.Range(0, 200).Select(i => calendar.JitterOf("nightly", first.AddMinutes(i))).ToArray();

        Assert.All(jitters, j => Assert.InRange(j, TimeSpan.Zero, TimeSpan.FromSeconds(30)));
        Assert.Equal(jitters, Enumerable.Range(0, 200).Select(i => Calendar("* * * * *", jitter: 30).JitterOf("nightly", first.AddMinutes(i))));
        Assert.True(jitters.Distinct().Count() > 150, $"{jitters.Distinct().Count()} distinct of 200");
        Assert.InRange(jitters.Average(j => j.TotalSeconds), 10, 20);
        Assert.Equal(TimeSpan.Zero, Calendar("* * * * *").JitterOf("nightly", first));
    }

    [Fact]
    public void ADefinition_RoundTripsThroughJson_WithStringPolicies()
    {
        ScheduleDefinition definition = JsonSerializer.Deserialize<ScheduleDefinition>(
            """{"cron":"0 2 * * *","timeZone":"Europe/Berlin","overlap":"queueOne","catchUp":"latest","template":{"jobs":[{"type":"echo"}]}}""",
            Core.Serialization.DurableJobsJson.Options)!;

        Assert.Equal((ScheduleOverlap.QueueOne, ScheduleCatchUp.Latest), (definition.Overlap, definition.CatchUp));
        Assert.Contains("\"overlap\":\"QueueOne\"", JsonSerializer.Serialize(definition, Core.Serialization.DurableJobsJson.Options));
    }
}

/// <summary>What a wake of the schedule starts: on-time occurrences, and the catch-up policy for those missed.</summary>
public sealed class ScheduleDueTests
{
    private static readonly DateTime Cursor = new(2026, 12, 1, 5, 0, 0, DateTimeKind.Utc);

    // A 15 s grace period: what is handled more than 15 s late was missed.
    private static ScheduleCalendar EveryMinute => ScheduleCalendar.Create(new ScheduleDefinition { Cron = "* * * * *", GraceSeconds = 15, Template = new Core.Model.BatchRequest() });

    [Fact]
    public void AWakeOnTime_StartsTheOneOccurrence_NothingMissed()
    {
        DueOccurrences due = EveryMinute.Due("m", Cursor, Cursor.AddMinutes(1).AddMilliseconds(80), ScheduleCatchUp.Skip);

        Assert.Equal([new DueOccurrence(Cursor.AddMinutes(1), "cron", Cursor.AddMinutes(1))], due.Start);
        Assert.Equal((null, 0, 0), (due.LatestMissed, due.Missed, due.NotRun));
    }

    [Fact]
    public void APerSecondScheduleWokenTwoSecondsLate_StartsAllThreeOccurrences_LateIsNotMissed()
    {
        ScheduleCalendar everySecond = ScheduleCalendar.Create(new ScheduleDefinition { Cron = "* * * * * *", Template = new Core.Model.BatchRequest() });
        DueOccurrences due = everySecond.Due("s", Cursor, Cursor.AddSeconds(3.2), ScheduleCatchUp.Skip);

        // With a 1.5 s grace period instead, the first of them (2.2 s old) was missed.
        DueOccurrences strict = ScheduleCalendar.Create(new ScheduleDefinition { Cron = "* * * * * *", GraceSeconds = 1.5, Template = new Core.Model.BatchRequest() })
            .Due("s", Cursor, Cursor.AddSeconds(3.2), ScheduleCatchUp.Skip);
        Assert.Equal([Cursor.AddSeconds(2), Cursor.AddSeconds(3)], strict.Start.Select(d => d.OccurrenceUtc));
        Assert.Equal((Cursor.AddSeconds(1), 1), (strict.LatestMissed, strict.Missed));

        Assert.Equal([Cursor.AddSeconds(1), Cursor.AddSeconds(2), Cursor.AddSeconds(3)], due.Start.Select(d => d.OccurrenceUtc));
        Assert.Equal(0, due.Missed);
    }

    [Fact]
    public void ClusterDownForFiveOccurrences_CatchUpSkip_RunsNone_AndCountsFiveMissed()
    {
        // Woken 5 min 20 s after the cursor: 05:01 to 05:05 are more than 15 s old; nothing is due on time.
        DueOccurrences due = EveryMinute.Due("m", Cursor, Cursor.AddMinutes(5).AddSeconds(20), ScheduleCatchUp.Skip);

        Assert.Empty(due.Start);
        Assert.Equal((Cursor.AddMinutes(5), 5, 5), (due.LatestMissed, due.Missed, due.NotRun));
    }

    [Fact]
    public void ClusterDownForFiveOccurrences_CatchUpLatest_RunsTheLatestOnce_FourNotRun()
    {
        DueOccurrences due = EveryMinute.Due("m", Cursor, Cursor.AddMinutes(5).AddSeconds(20), ScheduleCatchUp.Latest);

        Assert.Equal([new DueOccurrence(Cursor.AddMinutes(5), "catch-up", Cursor.AddMinutes(5))], due.Start);
        Assert.Equal((5, 4), (due.Missed, due.NotRun));
    }

    [Fact]
    public void ClusterDownThenBackJustAfterAnOccurrence_TheMissedAreCaughtUp_AndTheFreshOneRunsOnTime()
    {
        // Back 5 s after 05:06: that one is on time; 05:01 to 05:05 were missed.
        DueOccurrences due = EveryMinute.Due("m", Cursor, Cursor.AddMinutes(6).AddSeconds(5), ScheduleCatchUp.Latest);

        Assert.Equal([("catch-up", Cursor.AddMinutes(5)), ("cron", Cursor.AddMinutes(6))], due.Start.Select(d => (d.Trigger, d.OccurrenceUtc)));
        Assert.Equal((5, 4), (due.Missed, due.NotRun));
    }

    [Fact]
    public void DownForDays_MissedAreCountedUpTo1000_OnlyTheLatestIsRun()
    {
        DueOccurrences due = EveryMinute.Due("m", Cursor, Cursor.AddDays(3).AddSeconds(30), ScheduleCatchUp.Latest);

        Assert.Equal(Cursor.AddDays(3), Assert.Single(due.Start).OccurrenceUtc);
        Assert.Equal(1_000, due.Missed);
    }

    [Fact]
    public void TheDefaultGraceIsSixtySeconds_AnOccurrence59SecondsLateRuns_One61SecondsLateIsMissed()
    {
        ScheduleCalendar calendar = ScheduleCalendar.Create(new ScheduleDefinition { Cron = "0 * * * *", Template = new Core.Model.BatchRequest() });

        Assert.Single(calendar.Due("h", Cursor, Cursor.AddHours(1).AddSeconds(59), ScheduleCatchUp.Skip).Start);
        DueOccurrences late = calendar.Due("h", Cursor, Cursor.AddHours(1).AddSeconds(61), ScheduleCatchUp.Skip);
        Assert.Empty(late.Start);
        Assert.Equal(1, late.NotRun);
    }

    [Fact]
    public void Jitter_DelaysTheDueTime_NotTheOccurrenceOrItsBatchId()
    {
        ScheduleCalendar jittered = ScheduleCalendar.Create(new ScheduleDefinition { Cron = "* * * * *", JitterSeconds = 10, Template = new Core.Model.BatchRequest() });
        DueOccurrence due = Assert.Single(jittered.Due("m", Cursor, Cursor.AddMinutes(1).AddSeconds(10), ScheduleCatchUp.Skip).Start);

        Assert.Equal(Cursor.AddMinutes(1), due.OccurrenceUtc);
        Assert.Equal(Cursor.AddMinutes(1) + jittered.JitterOf("m", Cursor.AddMinutes(1)), due.DueUtc);
    }
}
