using CsCheck;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

public sealed class BatchStateTests(ITestOutputHelper output)
{
    private static readonly DateTime Deadline = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// A batch, and how it is stopped: after how many chunk completions a stop arrives (never, when past the end), which
    /// stop (a cancel or the deadline), whether the other one follows, and after how many more completions the grace
    /// period writes off what is still in flight (never, when past the end).
    /// </summary>
    private sealed record StoppedBatch(PlannedBatch Batch, int StopAfter, JobStatus Stop, bool SecondStop, int GraceAfter)
    {
        public static Gen<StoppedBatch> Any { get; } =
            from batch in PlannedBatch.Any
            from stopAfter in Gen.Frequency((1, Gen.Const(int.MaxValue)), (3, Gen.Int[0, 30]))
            from stop in Gen.OneOf(Gen.Const(JobStatus.Cancelled), Gen.Const(JobStatus.TimedOut))
            from secondStop in Gen.Bool
            from graceAfter in Gen.Frequency((2, Gen.Const(int.MaxValue)), (1, Gen.Int[0, 5]))
            select new StoppedBatch(batch, stopAfter, stop, secondStop, graceAfter);

        public override string ToString() => StopAfter == int.MaxValue
            ? $"{Batch}; never stopped"
            : $"{Batch}; {Stop} after {StopAfter} completions{(SecondStop ? ", then the other stop" : "")}, grace {(GraceAfter == int.MaxValue ? "never ends" : $"ends after {GraceAfter} more")}";
    }

    /// <summary>
    /// Applies to <see cref="BatchState"/> what <see cref="BatchOrchestrator"/> does over a batch's life: chunks
    /// scheduled from the planner, summaries and failed chunks as they finish, a cancel or the deadline at any point,
    /// the grace period writing off chunks still running, and the jobs never scheduled closed at the end. The counts
    /// must hold after every step.
    /// </summary>
    [Fact]
    public void AnyChunkSummariesAndStops_CountsAlwaysAddUpToTheTotal_NoneNegative_AndEndWithNothingRunningOrPending()
    {
        StoppedBatch.Any.Sample(
            run =>
            {
                PlannedBatch batch = run.Batch;
                var state = new BatchState(Input(batch), Deadline, batch.Count);
                var planner = new ChunkPlanner(batch.Start, batch.Count, batch.MaxParallel, batch.Chunking);
                var inFlight = new List<ChunkPlan>();
                var deferred = new List<ChunkPlan>();
                int finishedBefore = 0;
                void Check(string step)
                {
                    BatchSummary s = state.ToProgress().Summary;
                    int[] counts = [s.Succeeded, s.Failed, s.TimedOut, s.Cancelled, s.Running, s.Pending];
                    Assert.True(counts.All(c => c >= 0), $"a negative count after {step}: {s}");
                    Assert.True(counts.Sum() == batch.Count, $"counts add up to {counts.Sum()}, not {batch.Count}, after {step}: {s}");
                    int holding = inFlight.Concat(deferred).GroupBy(p => p.Lane).Sum(lane => Math.Min(lane.Sum(p => p.Count), lane.First().Parallelism));
                    Assert.True(s.Running == holding, $"{s.Running} running after {step}, but the lanes in flight hold {holding}");
                    Assert.True(s.Finished >= finishedBefore, $"finished went down from {finishedBefore} to {s.Finished} after {step}");
                    finishedBefore = s.Finished;
                }

                int completions = 0;
                int? stoppedAt = null;
                while (true)
                {
                    while (state.StopStatus is null && planner.TryNext() is { } plan)
                    {
                        // As the orchestrator does: a deferred chunk granted again is still counted as scheduled.
                        if (deferred.RemoveAll(d => d.Start == plan.Start) == 0)
                        {
                            state.Scheduled(plan);
                        }

                        inFlight.Add(plan);
                        Check($"scheduling {plan}");
                    }

                    if (inFlight.Count == 0)
                    {
                        break;
                    }

                    if (state.StopStatus is null && completions >= run.StopAfter)
                    {
                        state.Stop(run.Stop, Deadline);
                        stoppedAt = completions;
                        Check($"stop {run.Stop}");
                        if (run.SecondStop)
                        {
                            // The other stop arriving later changes nothing: the first one wins.
                            state.Stop(run.Stop == JobStatus.Cancelled ? JobStatus.TimedOut : JobStatus.Cancelled, Deadline.AddSeconds(1));
                            Assert.Equal(run.Stop, state.StopStatus);
                            Check("second stop");
                        }
                    }

                    if (stoppedAt is { } stopped && completions - stopped >= run.GraceAfter)
                    {
                        foreach (ChunkPlan plan in inFlight.ToArray())
                        {
                            inFlight.Remove(plan);
                            state.WriteOff(plan);
                            Check($"writing off {plan}");
                        }

                        break;
                    }

                    int pick = batch.Pick(completions, inFlight.Count);
                    ChunkPlan finished = inFlight[pick];
                    inFlight.RemoveAt(pick);
                    ChunkSummary? summary = batch.Summary(finished, batch.Outcome(completions));
                    planner.Finished(finished, summary);
                    if (summary is { Deferred: true })
                    {
                        deferred.Add(finished);
                    }
                    else if (summary is null)
                    {
                        state.FailChunk(finished);
                    }
                    else
                    {
                        state.Record(finished, summary);
                    }

                    Check($"{finished} finished with {(object?)summary ?? "a failed activity"}");
                    completions++;
                }

                foreach (ChunkPlan plan in planner.Deferred)
                {
                    deferred.RemoveAll(d => d.Start == plan.Start);
                    state.WriteOff(plan);
                    Check($"writing off deferred {plan}");
                }

                state.CloseUnscheduled(batch.End - planner.NextIndex);
                Check($"closing {batch.End - planner.NextIndex} unscheduled");

                BatchResult result = state.ToResult();
                Assert.Equal((0, 0, batch.Count), (result.Summary.Running, result.Summary.Pending, result.Summary.Finished));
                BatchStatus expected = stoppedAt is null ? BatchStatus.Completed : run.Stop == JobStatus.Cancelled ? BatchStatus.Cancelled : BatchStatus.TimedOut;
                Assert.Equal(expected, result.Status);
            },
            iter: 2_000,
            writeLine: output.WriteLine);
    }

    [Fact]
    public void ChunkOfTenReportingSeven_TheThreeMissingCountAsFailed_NotLost()
    {
        var batch = new BatchOrchestrationInput { BatchId = "b", JobsKey = "k", JobCount = 10, MaxParallel = 4, DeadlineSeconds = 60 };
        var state = new BatchState(batch, Deadline, 10);
        var plan = new ChunkPlan(0, 10, Lane: 0, Parallelism: 4);
        state.Scheduled(plan);
        Assert.Equal((4, 6), (state.ToProgress().Summary.Running, state.ToProgress().Summary.Pending));

        state.Record(plan, new ChunkSummary { Succeeded = 5, TimedOut = 2 });

        BatchSummary summary = state.ToResult().Summary;
        Assert.Equal((5, 3, 2, 0, 0, 0), (summary.Succeeded, summary.Failed, summary.TimedOut, summary.Cancelled, summary.Running, summary.Pending));
    }

    /// <summary>
    /// A spent failure budget stops the batch as a cancel does: the chunk still running and the jobs never granted
    /// count Cancelled, the result is Aborted with the reason, and progress says Aborted while it stops.
    /// </summary>
    [Fact]
    public void Abort_TakesTheCancelPath_EndsAbortedWithItsReason_CountingTheRestCancelled()
    {
        var input = new BatchOrchestrationInput { BatchId = "b", JobsKey = "k", JobCount = 100, MaxParallel = 10, DeadlineSeconds = 60 };
        var state = new BatchState(input, Deadline, 100);
        var first = new ChunkPlan(0, 10, 0, 10);
        var second = new ChunkPlan(10, 10, 0, 10, 1);
        state.Scheduled(first);
        state.Scheduled(second);
        state.Record(first, new ChunkSummary { Succeeded = 2, Failed = 8 });

        state.Abort("budget", Deadline.AddSeconds(-30));
        state.Abort("second reason is ignored", Deadline);
        Assert.Equal((BatchStatus.Aborted, "budget"), (state.ToProgress().Stopping, state.ToProgress().Reason));
        state.WriteOff(second);
        state.CloseUnscheduled(80);

        BatchResult result = state.ToResult();
        Assert.Equal((BatchStatus.Aborted, "budget", Deadline.AddSeconds(-30)), (result.Status, result.Reason, result.StoppedAtUtc));
        Assert.Equal((2, 8, 90, 0), (result.Summary.Succeeded, result.Summary.Failed, result.Summary.Cancelled, result.Summary.Pending));
    }

    [Fact]
    public void Tally_CountsSucceededAndFailedOnly_PlusWhatEarlierPartsReported()
    {
        var input = new BatchOrchestrationInput { BatchId = "b", JobsKey = "k", JobCount = 10, MaxParallel = 10, DeadlineSeconds = 60 };
        var state = new BatchState(input, Deadline, 10);
        var chunk = new ChunkPlan(0, 10, 0, 10);
        state.Scheduled(chunk);
        state.Record(chunk, new ChunkSummary { Succeeded = 3, Failed = 4, TimedOut = 2, Cancelled = 1 });

        Assert.Equal(new FailureTally(7, 4), state.Tally(null));
        Assert.Equal(new FailureTally(107, 54), state.Tally(new FailureTally(100, 50)));
    }

    [Fact]
    public void Paused_ShowsInProgress_UntilTheBatchStops()
    {
        var input = new BatchOrchestrationInput { BatchId = "b", JobsKey = "k", JobCount = 10, MaxParallel = 10, DeadlineSeconds = 60 };
        var state = new BatchState(input, Deadline, 10) { Paused = true };
        Assert.True(state.ToProgress().Paused);
        state.Stop(JobStatus.Cancelled, Deadline);
        Assert.Null(state.ToProgress().Paused);
    }

    private static BatchOrchestrationInput Input(PlannedBatch batch) => new()
    {
        BatchId = "batch",
        JobsKey = "jobs",
        JobCount = batch.Start + batch.Count,
        MaxParallel = batch.MaxParallel,
        DeadlineSeconds = 60,
        Chunking = batch.Chunking,
        Start = batch.Start,
        Count = batch.Count,
    };
}
