using CsCheck;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

public sealed class ChunkPlannerTests(ITestOutputHelper output)
{
    /// <summary>
    /// Drives the planner the way <see cref="BatchOrchestrator"/> does: fill every free place, then let one chunk in
    /// flight finish (in the order the case picks, so chunks finish while others still run) and report its summary,
    /// until nothing is in flight. Checks after every chunk scheduled that the lanes' slots (which all the chunks of a
    /// lane share) add up to at most the cap, that a lane holds at most its running chunk and those granted ahead, and
    /// that a lane's chunks are numbered 0, 1, 2, … in the order they are scheduled.
    /// </summary>
    [Fact]
    public void AnyBatch_LaneSlotsNeverAddUpToMoreThanMaxParallel_EveryJobIsScheduledOnce_AndThePlannerTerminates()
    {
        PlannedBatch.Any.Sample(
            batch =>
            {
                var planner = new ChunkPlanner(batch.Start, batch.Count, batch.MaxParallel, batch.Chunking);
                var timesScheduled = new int[batch.Count];
                var inFlight = new List<ChunkPlan>();
                var deferred = new List<ChunkPlan>();
                var nextSequence = new Dictionary<int, int>();
                var slotsOf = new Dictionary<int, int>();
                int completions = 0;
                while (true)
                {
                    while (planner.TryNext() is { } plan)
                    {
                        if (deferred.RemoveAll(d => d.Start == plan.Start && d.Count == plan.Count && d.Lane == plan.Lane && d.Sequence == plan.Sequence) == 1)
                        {
                            // Granted again: the same chunk, now ready, and only once nothing before it in its lane is open.
                            Assert.True(plan.Ready, $"{plan} granted again but not ready");
                            Assert.DoesNotContain(inFlight.Concat(deferred), p => p.Lane == plan.Lane && p.Sequence < plan.Sequence);
                            inFlight.Add(plan);
                            continue;
                        }

                        Assert.True(plan.Count >= 1, $"empty chunk {plan}");
                        Assert.InRange(plan.Start, batch.Start, batch.End - plan.Count);
                        for (int i = plan.Start; i < plan.Start + plan.Count; i++)
                        {
                            Assert.True(++timesScheduled[i - batch.Start] == 1, $"job {i} scheduled again in {plan}");
                        }

                        Assert.True(plan.Sequence == nextSequence.GetValueOrDefault(plan.Lane), $"{plan} out of order in its lane");
                        nextSequence[plan.Lane] = plan.Sequence + 1;
                        Assert.True(slotsOf.GetValueOrDefault(plan.Lane, plan.Parallelism) == plan.Parallelism, $"{plan} changed its lane's slots");
                        slotsOf[plan.Lane] = plan.Parallelism;
                        inFlight.Add(plan);
                        if (plan.Ready)
                        {
                            Assert.DoesNotContain(inFlight.Concat(deferred), p => p.Lane == plan.Lane && p.Sequence < plan.Sequence);
                        }

                        int slots = inFlight.Concat(deferred).Select(p => p.Lane).Distinct().Sum(lane => slotsOf[lane]);
                        Assert.True(slots <= batch.MaxParallel, $"{slots} lane slots in flight over a cap of {batch.MaxParallel}: {string.Join(", ", inFlight)}");
                        int inLane = inFlight.Concat(deferred).Count(p => p.Lane == plan.Lane);
                        Assert.True(inLane <= 1 + batch.Chunking.ChunksAheadPerLane, $"{inLane} chunks in lane {plan.Lane} with {batch.Chunking.ChunksAheadPerLane} ahead");
                    }

                    if (inFlight.Count == 0)
                    {
                        // The orchestrator ends here and times out whatever is left: a stall would lose jobs.
                        Assert.False(planner.HasMore, $"nothing in flight but job {planner.NextIndex} was never scheduled");
                        break;
                    }

                    // Every chunk holds at least one job and is deferred at most once (granted again it is ready), so a planner
                    // that terminates finishes at most two chunks per job.
                    Assert.True(++completions <= 2 * batch.Count, $"more than {2 * batch.Count} chunk completions for {batch.Count} jobs");
                    int pick = batch.Pick(completions, inFlight.Count);
                    ChunkPlan finished = inFlight[pick];
                    inFlight.RemoveAt(pick);
                    ChunkSummary? summary = batch.Summary(finished, batch.Outcome(completions));
                    planner.Finished(finished, summary);
                    if (summary is { Deferred: true })
                    {
                        deferred.Add(finished);
                    }
                }

                Assert.Equal(batch.End, planner.NextIndex);
                Assert.All(timesScheduled, n => Assert.Equal(1, n));
            },
            iter: 2_000,
            writeLine: output.WriteLine);
    }

    /// <summary>
    /// The planner under cap changes at any point (after some completions, up or down, from 1 to 40): the slots of the
    /// lanes with chunks in flight never add up to more than the highest cap in force since the last moment no old lane
    /// was in flight, i.e. after a fall no chunk of a new lane is granted while a chunk granted under the old cap still
    /// runs, and once that drained, never more than the new cap; every job is still scheduled once and the planner ends.
    /// </summary>
    [Fact]
    public void AnyBatchWithCapChanges_SlotsInFlightNeverExceedTheCapInForce_NewLanesWaitForOldOnesAfterAFall()
    {
        Gen<(PlannedBatch, int[])> cases = from batch in PlannedBatch.Any from caps in Gen.Int[1, 40].Array[1, 6] select (batch, caps);
        cases.Sample(
            run =>
            {
                (PlannedBatch batch, int[] caps) = run;
                var planner = new ChunkPlanner(batch.Start, batch.Count, batch.MaxParallel, batch.Chunking);
                var timesScheduled = new int[batch.Count];
                var inFlight = new List<ChunkPlan>();
                var deferred = new List<ChunkPlan>();
                var slotsOf = new Dictionary<int, int>();
                var retiredBelow = 0; // lanes numbered below this were retired by a fall
                int allowed = batch.MaxParallel;
                int completions = 0;
                int changes = 0;
                while (true)
                {
                    while (planner.TryNext() is { } plan)
                    {
                        if (deferred.RemoveAll(d => d.Start == plan.Start && d.Lane == plan.Lane && d.Sequence == plan.Sequence) == 1)
                        {
                            // A deferred chunk granted again (ready): its lane's slots were counted all along.
                            Assert.True(plan.Ready, $"{plan} granted again but not ready");
                            inFlight.Add(plan);
                            continue;
                        }

                        for (int i = plan.Start; i < plan.Start + plan.Count; i++)
                        {
                            Assert.True(++timesScheduled[i - batch.Start] == 1, $"job {i} scheduled again in {plan}");
                        }

                        Assert.True(plan.Lane >= retiredBelow, $"{plan} granted to a retired lane");
                        slotsOf[plan.Lane] = plan.Parallelism;
                        inFlight.Add(plan);
                        int slots = inFlight.Concat(deferred).Select(p => p.Lane).Distinct().Sum(lane => slotsOf[lane]);
                        Assert.True(slots <= allowed, $"{slots} lane slots in flight over {allowed} (cap {planner.Cap}): {string.Join(", ", inFlight)}");
                    }

                    if (inFlight.Count == 0 && deferred.Count == 0 && changes == caps.Length)
                    {
                        Assert.False(planner.HasMore, $"nothing in flight but job {planner.NextIndex} was never scheduled");
                        break;
                    }

                    // Every other step changes the cap while chunks run; the rest finish one chunk.
                    if (changes < caps.Length && (completions % 2 == 1 || inFlight.Count == 0))
                    {
                        int cap = caps[changes++];
                        if (cap < planner.Cap && !planner.IsDraining)
                        {
                            retiredBelow = planner.LaneCount;
                        }

                        planner.ChangeCap(cap);
                        completions++;
                    }
                    else
                    {
                        Assert.True(++completions <= 4 * (batch.Count + caps.Length), "the planner does not end");
                        Assert.True(inFlight.Count > 0, $"deferred chunks never granted again: {string.Join(", ", deferred)}");
                        int pick = batch.Pick(completions, inFlight.Count);
                        ChunkPlan finished = inFlight[pick];
                        inFlight.RemoveAt(pick);
                        ChunkSummary? summary = batch.Summary(finished, batch.Outcome(completions));
                        planner.Finished(finished, summary);
                        if (summary is { Deferred: true })
                        {
                            deferred.Add(finished);
                        }
                    }

                    // Until the old lanes drained the old cap bounds what runs (jobs running are never stopped); after, the new one.
                    allowed = inFlight.Concat(deferred).Any(p => p.Lane < retiredBelow) ? Math.Max(allowed, planner.Cap) : planner.Cap;
                }

                Assert.Equal(batch.End, planner.NextIndex);
                Assert.All(timesScheduled, n => Assert.Equal(1, n));
            },
            iter: 2_000,
            writeLine: output.WriteLine);
    }

    [Fact]
    public void CapRaisedFromTwoToEight_AddsLanesForSixAtOnce_FallToThree_GrantsNothingUntilTheOldLanesDrain()
    {
        var planner = new ChunkPlanner(0, 1_000, 2, new ChunkingOptions { MinLanes = 2, MaxLanes = 2, FixedJobsPerChunk = 5 });
        ChunkPlan[] before = [.. Enumerable.Range(0, 10).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];
        Assert.Equal(4, before.Length); // two lanes of 1, each with a chunk ahead

        planner.ChangeCap(8);
        ChunkPlan[] added = [.. Enumerable.Range(0, 10).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];
        Assert.Equal((8, 6), (planner.Cap, added.DistinctBy(p => p.Lane).Sum(p => p.Parallelism)));
        Assert.All(added, p => Assert.True(p.Lane >= 2 && p.Sequence <= 1, p.ToString()));

        planner.ChangeCap(3);
        Assert.True(planner.IsDraining);
        Assert.Null(planner.TryNext());
        foreach (ChunkPlan plan in before.Concat(added).SkipLast(1))
        {
            planner.Finished(plan, null);
            Assert.Null(planner.TryNext());
        }

        planner.Finished(added[^1], null);
        Assert.False(planner.IsDraining);
        ChunkPlan[] after = [.. Enumerable.Range(0, 10).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];
        Assert.Equal(3, after.DistinctBy(p => p.Lane).Sum(p => p.Parallelism));
        int lanesBefore = 2 + added.DistinctBy(a => a.Lane).Count();
        Assert.All(after, p => Assert.True(p.Lane >= lanesBefore && p.Sequence <= 1, $"{p} reuses a retired lane"));
    }

    [Fact]
    public void CapTenOverFourLanes_LaneSharesAreThreeThreeTwoTwo_EachLaneGetsItsRunningChunkThenOneAhead()
    {
        var planner = new ChunkPlanner(0, 100, 10, new ChunkingOptions { MinLanes = 4, MaxLanes = 4 });

        ChunkPlan[] first = [.. Enumerable.Range(0, 9).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];

        Assert.Equal([3, 3, 2, 2, 3, 3, 2, 2], first.Select(p => p.Parallelism));
        Assert.Equal([3, 3, 2, 2, 3, 3, 2, 2], first.Select(p => p.Count));
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], first.Select(p => p.Lane));
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], first.Select(p => p.Sequence));
    }

    [Theory]
    [InlineData(10, 4, 3)]
    [InlineData(100, 4, 25)]
    [InlineData(200, 4, 50)]
    [InlineData(400, 8, 50)]
    [InlineData(1_000, 20, 50)]
    [InlineData(10_000, 64, 157)]
    [InlineData(3, 3, 1)]
    public void TheCapSplitsIntoAtLeastFourLanes_OfAboutFiftySlotsOnceLarge_AtMostSixtyFour(int cap, int lanes, int widestLane)
    {
        var planner = new ChunkPlanner(0, 100_000, cap, new ChunkingOptions());

        Assert.Equal(lanes, planner.LaneCount);
        Assert.Equal(widestLane, planner.ParallelismOf(0));
        Assert.Equal(cap, Enumerable.Range(0, planner.LaneCount).Sum(planner.ParallelismOf));
    }

    [Fact]
    public void NoChunksAhead_IsChunkAtATime_OneChunkPerLaneUntilItFinishes()
    {
        var planner = new ChunkPlanner(0, 100, 4, new ChunkingOptions { MinLanes = 2, ChunksAheadPerLane = 0 });

        ChunkPlan[] first = [.. Enumerable.Range(0, 3).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];
        planner.Finished(first[1], new ChunkSummary { Succeeded = 2, BusyMilliseconds = 20 });

        Assert.Equal(2, first.Length);
        Assert.Equal((1, 1), planner.TryNext() is { } next ? (next.Lane, next.Sequence) : (-1, -1));
        Assert.Null(planner.TryNext());
    }

    [Fact]
    public void BeforeAnyMeasurement_ALanesFirstChunkCarriesOneJobPerSlot_TheChunkAheadEight_BatchesFromBeforeItOne()
    {
        // Cap 10 over 4 lanes (3, 3, 2, 2 slots) of 1,000 jobs: the chunks granted ahead carry 24, 24, 16, 16 jobs,
        // enough to cover the round trip that brings the first measurement back when jobs are short.
        var planner = new ChunkPlanner(0, 1_000, 10, new ChunkingOptions { MinLanes = 4, MaxLanes = 4, UnmeasuredAheadJobsPerSlot = 8 });
        var before = new ChunkPlanner(0, 1_000, 10, new ChunkingOptions { MinLanes = 4, MaxLanes = 4 });

        ChunkPlan[] first = [.. Enumerable.Range(0, 8).Select(_ => planner.TryNext()!)];
        ChunkPlan[] old = [.. Enumerable.Range(0, 8).Select(_ => before.TryNext()!)];

        Assert.Equal([3, 3, 2, 2, 24, 24, 16, 16], first.Select(p => p.Count));
        Assert.Equal([3, 3, 2, 2, 3, 3, 2, 2], old.Select(p => p.Count));
    }

    [Fact]
    public void BeforeAnyMeasurement_TheChunkAheadOfASmallBatch_TakesOnlyItsShareOfWhatIsLeft()
    {
        // 40 jobs, cap 4 over 4 lanes of one slot, two places per lane: after the four first chunks 36 are left, and each
        // chunk ahead takes at most its share of what is left over eight places: 5 of 36, 4 of 31, 4 of 27, 3 of 23 — not 8.
        var planner = new ChunkPlanner(0, 40, 4, new ChunkingOptions { MinLanes = 4, UnmeasuredAheadJobsPerSlot = 8 });

        ChunkPlan[] first = [.. Enumerable.Range(0, 8).Select(_ => planner.TryNext()!)];

        Assert.Equal([1, 1, 1, 1, 5, 4, 4, 3], first.Select(p => p.Count));
    }

    [Fact]
    public void AfterMeasuringTenMillisecondJobs_EachChunkNearTheEndTakesAQuarterOfWhatIsLeft_10_8_6_4()
    {
        // Cap 4 over 4 lanes of one slot, chunk-at-a-time. 10 ms jobs at 1 s per chunk want 100 jobs a chunk, but with
        // 40 left each lane that frees takes its share of what is left (guided self-scheduling), so the lanes run out of
        // work together.
        var planner = new ChunkPlanner(0, 44, 4, new ChunkingOptions { MinLanes = 4, ChunksAheadPerLane = 0, TargetChunkSeconds = 1 });
        ChunkPlan[] measuring = [.. Enumerable.Range(0, 4).Select(_ => planner.TryNext()!)];
        Assert.All(measuring, p => Assert.Equal(1, p.Count));
        foreach (ChunkPlan plan in measuring)
        {
            planner.Finished(plan, new ChunkSummary { Succeeded = 1, BusyMilliseconds = 10 });
        }

        ChunkPlan[] tail = [.. Enumerable.Range(0, 4).Select(_ => planner.TryNext()!)];

        Assert.Equal([10, 8, 6, 4], tail.Select(p => p.Count));
        Assert.Equal(32, planner.NextIndex);
    }

    [Fact]
    public void AfterMeasuringTenMillisecondJobs_NoChunkNearTheEndCarriesLessThanAQuarterSecondPerSlot_25_15_Not_10_8_6_4()
    {
        // The batch above with the tail floor new batches get: a lane's share of the 40 left would be 10 jobs (100 ms),
        // less than the round trip to the next grant, so each chunk carries 250 ms of work instead and two lanes finish
        // the batch while the other two have nothing more to wait for.
        var planner = new ChunkPlanner(0, 44, 4, new ChunkingOptions { MinLanes = 4, ChunksAheadPerLane = 0, TargetChunkSeconds = 1, TailChunkSeconds = 0.25 });
        ChunkPlan[] measuring = [.. Enumerable.Range(0, 4).Select(_ => planner.TryNext()!)];
        foreach (ChunkPlan plan in measuring)
        {
            planner.Finished(plan, new ChunkSummary { Succeeded = 1, BusyMilliseconds = 10 });
        }

        ChunkPlan[] tail = [planner.TryNext()!, planner.TryNext()!];
        ChunkPlan? third = planner.TryNext();

        Assert.Equal([25, 15], tail.Select(p => p.Count));
        Assert.Null(third);
        Assert.False(planner.HasMore);
    }

    [Fact]
    public void NearTheEnd_ALaneOfTwoSlotsTakesTwiceTheShareOfALaneOfOne_60_10_Not_45_23()
    {
        // Cap 3 over a lane of two slots and one of one, chunk-at-a-time, 10 ms jobs, 90 left after measuring. Shared by
        // job count (batches from before the tail rule), the wide lane would get 45 jobs (225 ms on its two slots) and
        // the narrow one 23 (230 ms on one) of the 45 left; shared by slots, 60 of 90 then 10 of 30.
        var options = new ChunkingOptions { MinLanes = 2, MaxLanes = 2, ChunksAheadPerLane = 0, TargetChunkSeconds = 1 };
        int[] bySlots = TailAfterMeasuring(options with { TailChunkSeconds = 0.001 });
        int[] byCount = TailAfterMeasuring(options);

        Assert.Equal([60, 10], bySlots);
        Assert.Equal([45, 23], byCount);

        static int[] TailAfterMeasuring(ChunkingOptions chunking)
        {
            var planner = new ChunkPlanner(0, 93, 3, chunking);
            ChunkPlan[] measuring = [planner.TryNext()!, planner.TryNext()!];
            Assert.Equal([2, 1], measuring.Select(p => p.Parallelism));
            foreach (ChunkPlan plan in measuring)
            {
                planner.Finished(plan, new ChunkSummary { Succeeded = plan.Count, BusyMilliseconds = 10 * plan.Count });
            }

            return [planner.TryNext()!.Count, planner.TryNext()!.Count];
        }
    }
}
