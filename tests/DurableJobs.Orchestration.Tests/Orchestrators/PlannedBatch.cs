using System.Globalization;
using CsCheck;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

/// <summary>How a finished chunk reports back to the orchestrator.</summary>
internal enum ChunkOutcome
{
    /// <summary>Every job ran; some failed.</summary>
    Ran,

    /// <summary>A redelivery: some jobs were recorded by an earlier delivery and did not run again.</summary>
    Redelivered,

    /// <summary>A deadline or cancel stopped some of the jobs.</summary>
    Stopped,

    /// <summary>The summary accounts for fewer jobs than the chunk held.</summary>
    Short,

    /// <summary>The activity failed after its retries: no summary.</summary>
    ActivityFailed,

    /// <summary>
    /// The worker handed a chunk granted ahead back (its predecessor was not running there); a ready chunk or a lane's
    /// first is never deferred, and runs instead.
    /// </summary>
    Deferred,
}

/// <summary>
/// A random batch as the orchestrator sees it: its range, cap and chunking options, how long each job takes,
/// the order in which chunks in flight finish (<see cref="Picks"/>: the n-th completion is the in-flight chunk at
/// <c>Picks[n % length] % inFlight</c>) and how each finishes.
/// </summary>
internal sealed record PlannedBatch(int Start, int Count, int MaxParallel, ChunkingOptions Chunking, double[] JobMilliseconds, int[] Picks, ChunkOutcome[] Outcomes)
{
    public static Gen<ChunkingOptions> ChunkingGen { get; } =
        from target in Gen.OneOf(Gen.Const(1.0), Gen.Double[0.001, 10.0])
        from maxJobs in Gen.OneOf(Gen.Const(1_000), Gen.Int[1, 300])
        from minLanes in Gen.OneOf(Gen.Const(8), Gen.Int[1, 16])
        from slotsPerLane in Gen.OneOf(Gen.Const(50), Gen.Int[1, 200])
        from maxLanes in Gen.OneOf(Gen.Const(64), Gen.Int[1, 80])
        from ahead in Gen.OneOf(Gen.Const(1), Gen.Int[0, 3])
        from fixedSize in Gen.Frequency((4, Gen.Const(0)), (1, Gen.Int[1, 40]))
        from unmeasuredAhead in Gen.Frequency((2, Gen.Const((int?)null)), (2, Gen.Const((int?)ChunkingOptions.DefaultUnmeasuredAheadJobsPerSlot)), (1, Gen.Int[0, 20].Select(i => (int?)i)))
        from tail in Gen.Frequency((2, Gen.Const((double?)null)), (2, Gen.Const((double?)ChunkingOptions.DefaultTailChunkSeconds)), (1, Gen.Double[0.0, 5.0].Select(d => (double?)d)))
        select new ChunkingOptions
        {
            TargetChunkSeconds = target,
            MaxJobsPerChunk = maxJobs,
            MinLanes = minLanes,
            SlotsPerLane = slotsPerLane,
            MaxLanes = maxLanes,
            ChunksAheadPerLane = ahead,
            FixedJobsPerChunk = fixedSize,
            UnmeasuredAheadJobsPerSlot = unmeasuredAhead,
            TailChunkSeconds = tail,
        };

    /// <summary>Job durations of one batch share a scale: all sub-millisecond, all around a second, or anything.</summary>
    public static Gen<double[]> DurationsGen(int count) =>
        from scale in Gen.OneOf(Gen.Const(0.5), Gen.Const(50.0), Gen.Const(2_000.0), Gen.Const(60_000.0))
        from raw in Gen.Double[0.0, 1.0].Array[count]
        select raw.Select(r => r * scale).ToArray();

    public static Gen<PlannedBatch> Any { get; } =
        from start in Gen.Frequency((3, Gen.Const(0)), (1, Gen.Int[1, 100_000]))
        from count in Gen.Frequency((2, Gen.Int[1, 20]), (3, Gen.Int[1, 600]))
        from maxParallel in Gen.Frequency((3, Gen.Int[1, 50]), (1, Gen.Int[1, 1_000]))
        from chunking in ChunkingGen
        from durations in DurationsGen(count)
        from picks in Gen.Int[0, 1_000].Array[1, 40]
        from outcomes in Gen.Frequency(
            (6, Gen.Const(ChunkOutcome.Ran)),
            (1, Gen.Const(ChunkOutcome.Redelivered)),
            (1, Gen.Const(ChunkOutcome.Stopped)),
            (1, Gen.Const(ChunkOutcome.Short)),
            (1, Gen.Const(ChunkOutcome.ActivityFailed)),
            (2, Gen.Const(ChunkOutcome.Deferred))).Array[1, 20]
        select new PlannedBatch(start, count, maxParallel, chunking, durations, picks, outcomes);

    public int End => Start + Count;

    /// <summary>The in-flight position of the <paramref name="completion"/>-th chunk to finish.</summary>
    public int Pick(int completion, int inFlight) => Picks[completion % Picks.Length] % inFlight;

    public ChunkOutcome Outcome(int completion) => Outcomes[completion % Outcomes.Length];

    /// <summary>
    /// What ExecuteJobs would report for <paramref name="plan"/>: its jobs' durations summed, split among the statuses
    /// the outcome calls for (jobs recorded before or stopped early are not measured: they did not run to the end).
    /// </summary>
    public ChunkSummary? Summary(ChunkPlan plan, ChunkOutcome outcome)
    {
        if (outcome == ChunkOutcome.ActivityFailed)
        {
            return null;
        }

        if (outcome == ChunkOutcome.Deferred && !plan.Ready && plan.Sequence > 0)
        {
            return new ChunkSummary { Deferred = true };
        }

        int n = plan.Count;
        int recorded = outcome == ChunkOutcome.Redelivered ? (n + 1) / 2 : 0;
        int stopped = outcome == ChunkOutcome.Stopped ? (n + 2) / 3 : 0;
        int missing = outcome == ChunkOutcome.Short ? Math.Max(1, n / 4) : 0;
        int ran = n - stopped - missing;
        int failed = ran / 5;
        double busy = JobMilliseconds.AsSpan(plan.Start - Start + recorded, Math.Max(0, ran - recorded)).ToArray().Sum();
        return new ChunkSummary
        {
            Succeeded = ran - failed,
            Failed = failed,
            TimedOut = stopped - (stopped / 2),
            Cancelled = stopped / 2,
            AlreadyRecorded = recorded,
            BusyMilliseconds = busy,
        };
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"jobs {Start}+{Count}, cap {MaxParallel}, {Chunking}, job ms {Math.Round(JobMilliseconds.DefaultIfEmpty().Min(), 3)}..{Math.Round(JobMilliseconds.DefaultIfEmpty().Max(), 3)}, picks [{string.Join(",", Picks)}], outcomes [{string.Join(",", Outcomes)}]");
}
