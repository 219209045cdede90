using CsCheck;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

public sealed class ChunkPlannerTests(ITestOutputHelper output)
{
    /// <summary>
    /// Drives the planner the way <see cref="BatchOrchestrator"/> does: fill every free lane, then let one chunk in
    /// flight finish (in the order the case picks, so chunks finish while others still run) and report its summary,
    /// until nothing is in flight. Checks the cap after every chunk scheduled.
    /// </summary>
    [Fact]
    public void AnyBatch_ChunksInFlightNeverHoldMoreThanMaxParallel_EveryJobIsScheduledOnce_AndThePlannerTerminates()
    {
        PlannedBatch.Any.Sample(
            batch =>
            {
                var planner = new ChunkPlanner(batch.Start, batch.Count, batch.MaxParallel, batch.Chunking);
                var timesScheduled = new int[batch.Count];
                var inFlight = new List<ChunkPlan>();
                int completions = 0;
                while (true)
                {
                    while (planner.TryNext() is { } plan)
                    {
                        Assert.True(plan.Count >= 1, $"empty chunk {plan}");
                        Assert.InRange(plan.Start, batch.Start, batch.End - plan.Count);
                        for (int i = plan.Start; i < plan.Start + plan.Count; i++)
                        {
                            Assert.True(++timesScheduled[i - batch.Start] == 1, $"job {i} scheduled again in {plan}");
                        }

                        inFlight.Add(plan);
                        int slots = inFlight.Sum(p => p.Parallelism);
                        Assert.True(slots <= batch.MaxParallel, $"{slots} slots in flight over a cap of {batch.MaxParallel}: {string.Join(", ", inFlight)}");
                    }

                    if (inFlight.Count == 0)
                    {
                        // The orchestrator ends here and times out whatever is left: a stall would lose jobs.
                        Assert.False(planner.HasMore, $"nothing in flight but job {planner.NextIndex} was never scheduled");
                        break;
                    }

                    // Every chunk holds at least one job, so a planner that terminates finishes at most one chunk per job.
                    Assert.True(++completions <= batch.Count, $"more than {batch.Count} chunks for {batch.Count} jobs");
                    int pick = batch.Pick(completions, inFlight.Count);
                    ChunkPlan finished = inFlight[pick];
                    inFlight.RemoveAt(pick);
                    planner.Finished(finished, batch.Summary(finished, batch.Outcome(completions)));
                }

                Assert.Equal(batch.End, planner.NextIndex);
                Assert.All(timesScheduled, n => Assert.Equal(1, n));
            },
            iter: 2_000,
            writeLine: output.WriteLine);
    }

    [Fact]
    public void CapTenOverFourLanes_LaneSharesAreThreeThreeTwoTwo()
    {
        var planner = new ChunkPlanner(0, 100, 10, new ChunkingOptions { MaxChunksInFlight = 4 });

        ChunkPlan[] first = [.. Enumerable.Range(0, 5).Select(_ => planner.TryNext()).OfType<ChunkPlan>()];

        Assert.Equal([3, 3, 2, 2], first.Select(p => p.Parallelism));
        Assert.Equal([3, 3, 2, 2], first.Select(p => p.Count));
    }

    [Fact]
    public void AfterMeasuringTenMillisecondJobs_EachChunkNearTheEndTakesAQuarterOfWhatIsLeft_10_8_6_4()
    {
        // Cap 4 over 4 lanes of one slot. 10 ms jobs at 1 s per chunk want 100 jobs a chunk, but with 40 left each lane
        // that frees takes its share of what is left (guided self-scheduling), so the lanes run out of work together.
        var planner = new ChunkPlanner(0, 44, 4, new ChunkingOptions { MaxChunksInFlight = 4, TargetChunkSeconds = 1 });
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
}
