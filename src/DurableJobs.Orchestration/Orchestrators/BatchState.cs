using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>The orchestrator's counts, kept incrementally so progress costs O(1) whatever the batch size.</summary>
internal sealed class BatchState(BatchOrchestrationInput input, DateTime deadline, int total)
{
    private readonly List<JobRange> failedRanges = [];
    private readonly List<JobRange> writtenOff = [];

    /// <summary>Jobs in flight per lane (scheduled, not finished), and the lane's slots: at most that many of them run.</summary>
    private readonly Dictionary<int, (int Jobs, int Slots)> lanes = [];

    /// <summary>Jobs running now: per lane, its jobs in flight up to its slots.</summary>
    private int running;
    private int succeeded;
    private int failed;
    private int timedOut;
    private int cancelled;

    /// <summary>TimedOut or Cancelled once the batch is stopping.</summary>
    public JobStatus? StopStatus { get; private set; }

    /// <summary>When the batch started stopping.</summary>
    public DateTime? StoppedAt { get; private set; }

    /// <summary>Why the batch stopped on its own: its failure budget was spent (it ends Aborted). Null otherwise.</summary>
    public string? AbortReason { get; private set; }

    private readonly List<CapStep> capSteps = [];

    /// <summary>The cap now (a client may change it while the batch runs).</summary>
    public int Cap { get; private set; } = input.MaxParallel;

    /// <summary>Takes a cap change, for progress and the result.</summary>
    public void ChangeCap(int cap, DateTime now)
    {
        capSteps.Add(new CapStep(now, Cap, cap));
        Cap = cap;
    }

    /// <summary>True while a client has the batch paused (see <see cref="BatchPause"/>).</summary>
    public bool Paused { get; set; }

    public IReadOnlyList<JobRange> FailedRanges => failedRanges;

    public IReadOnlyList<JobRange> WrittenOff => writtenOff;

    private int Finished => succeeded + failed + timedOut + cancelled;

    public void Scheduled(ChunkPlan plan) => MoveInFlight(plan, plan.Count);

    public void Stop(JobStatus status, DateTime now)
    {
        if (StopStatus is null)
        {
            StopStatus = status;
            StoppedAt = now;
        }
    }

    /// <summary>Stops the batch the way a cancel does (its jobs not run end Cancelled), for <paramref name="reason"/>; it ends Aborted.</summary>
    public void Abort(string reason, DateTime now)
    {
        if (StopStatus is null)
        {
            Stop(JobStatus.Cancelled, now);
            AbortReason = reason;
        }
    }

    /// <summary>Jobs that succeeded or failed so far, with <paramref name="before"/> (earlier parts) added: what a failure budget judges.</summary>
    public FailureTally Tally(FailureTally? before) =>
        new((before?.Finished ?? 0) + succeeded + failed, (before?.Failed ?? 0) + failed);

    public void Record(ChunkPlan plan, ChunkSummary summary)
    {
        Unschedule(plan);
        succeeded += summary.Succeeded;
        failed += summary.Failed;
        timedOut += summary.TimedOut;
        cancelled += summary.Cancelled;

        // A chunk always accounts for each of its jobs; anything missing is counted as failed, not lost.
        failed += Math.Max(0, plan.Count - summary.Total);
    }

    public void FailChunk(ChunkPlan plan)
    {
        Unschedule(plan);
        failed += plan.Count;
        failedRanges.Add(new JobRange(plan.Start, plan.Count));
    }

    public void WriteOff(ChunkPlan plan)
    {
        Unschedule(plan);
        Count(StopStatus ?? JobStatus.TimedOut, plan.Count);
        writtenOff.Add(new JobRange(plan.Start, plan.Count));
    }

    /// <summary>Jobs never scheduled take the stop status.</summary>
    public void CloseUnscheduled(int unscheduled) => Count(StopStatus ?? JobStatus.TimedOut, unscheduled);

    public BatchProgress ToProgress() => new()
    {
        Summary = Summary(),
        MaxParallel = Cap,
        DeadlineUtc = deadline,
        Stopping = ToBatchStatus() is var status && status != BatchStatus.Completed ? status : null,
        Reason = AbortReason,
        Paused = Paused && StopStatus is null ? true : null,
        CapSteps = capSteps.Count == 0 ? null : [.. capSteps],
    };

    public BatchResult ToResult() => new()
    {
        BatchId = input.BatchId,
        Status = ToBatchStatus(),
        Summary = Summary(),
        MaxParallel = Cap,
        StoppedAtUtc = StoppedAt,
        Reason = AbortReason,
        CapSteps = capSteps.Count == 0 ? null : [.. capSteps],
    };

    private BatchStatus ToBatchStatus() => StopStatus switch
    {
        _ when AbortReason is not null => BatchStatus.Aborted,
        JobStatus.TimedOut => BatchStatus.TimedOut,
        JobStatus.Cancelled => BatchStatus.Cancelled,
        _ => BatchStatus.Completed,
    };

    private void Unschedule(ChunkPlan plan) => MoveInFlight(plan, -plan.Count);

    private void MoveInFlight(ChunkPlan plan, int jobs)
    {
        // A lane's chunks share its slots: a chunk granted ahead adds pending jobs, not running ones.
        (int before, _) = lanes.GetValueOrDefault(plan.Lane);
        int after = before + jobs;
        lanes[plan.Lane] = (after, plan.Parallelism);
        running += Math.Min(after, plan.Parallelism) - Math.Min(before, plan.Parallelism);
    }

    private void Count(JobStatus status, int count)
    {
        switch (status)
        {
            case JobStatus.Cancelled: cancelled += count; break;
            case JobStatus.Failed: failed += count; break;
            default: timedOut += count; break;
        }
    }

    private BatchSummary Summary() => new()
    {
        Total = total,
        Succeeded = succeeded,
        Failed = failed,
        TimedOut = timedOut,
        Cancelled = cancelled,
        Running = running,
        Pending = total - Finished - running,
    };
}
