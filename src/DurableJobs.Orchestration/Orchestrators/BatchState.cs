using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>The orchestrator's bookkeeping: a result slot per job and running counts, kept incrementally so progress costs O(1).</summary>
internal sealed class BatchState
{
    private readonly BatchOrchestrationInput input;
    private readonly DateTime deadline;
    private readonly JobResult?[] results;
    private int running;
    private int succeeded;
    private int failed;
    private int timedOut;
    private int cancelled;

    public BatchState(BatchOrchestrationInput input, DateTime deadline)
    {
        this.input = input;
        this.deadline = deadline;
        results = new JobResult?[input.Jobs.Count];
    }

    /// <summary>TimedOut or Cancelled once the batch is stopping.</summary>
    public JobStatus? StopStatus { get; private set; }

    private int Pending => results.Length - running - succeeded - failed - timedOut - cancelled;

    public void MarkRunning(ChunkPlan plan) => running += plan.Jobs.Count;

    public void Stop(JobStatus status)
    {
        StopStatus ??= status;
    }

    public void Record(ChunkPlan plan, IReadOnlyList<JobResult> chunkResults)
    {
        running -= plan.Jobs.Count;
        for (int i = 0; i < plan.Jobs.Count; i++)
        {
            JobResult result = i < chunkResults.Count && chunkResults[i] is { } r
                ? r
                : Unfinished(plan.Jobs[i], JobStatus.Failed, "The activity returned no result for this job.", null);
            Set(plan.Jobs[i].Index, result);
        }
    }

    public void FailChunk(ChunkPlan plan, JobError error, DateTime now)
    {
        running -= plan.Jobs.Count;
        foreach (ScheduledJob job in plan.Jobs)
        {
            Set(job.Index, new JobResult { Id = job.Id, Type = job.Type, Status = JobStatus.Failed, Error = error, FinishedAt = now });
        }
    }

    public void WriteOff(ChunkPlan plan, DateTime now)
    {
        running -= plan.Jobs.Count;
        JobStatus status = StopStatus ?? JobStatus.TimedOut;
        foreach (ScheduledJob job in plan.Jobs)
        {
            Set(job.Index, Unfinished(job, status, "The job did not stop within the grace period after the batch stopped.", now));
        }
    }

    public BatchProgress ToProgress() => new()
    {
        Summary = Summary(),
        MaxParallel = input.MaxParallel,
        DeadlineUtc = deadline,
        Stopping = StopStatus switch
        {
            JobStatus.TimedOut => BatchStatus.TimedOut,
            JobStatus.Cancelled => BatchStatus.Cancelled,
            _ => null,
        },
    };

    public BatchResult ToResult(DateTime now)
    {
        // Jobs never started take the stop status; with no stop every job has a result already.
        JobStatus unstarted = StopStatus ?? JobStatus.TimedOut;
        string reason = unstarted == JobStatus.Cancelled ? "The batch was cancelled before the job started." : "The batch deadline passed before the job started.";
        for (int i = 0; i < results.Length; i++)
        {
            if (results[i] is null)
            {
                Set(i, Unfinished(input.Jobs[i], unstarted, reason, now));
            }
        }

        return new BatchResult
        {
            BatchId = input.BatchId,
            Status = StopStatus switch
            {
                JobStatus.TimedOut => BatchStatus.TimedOut,
                JobStatus.Cancelled => BatchStatus.Cancelled,
                _ => BatchStatus.Completed,
            },
            Summary = Summary(),
            MaxParallel = input.MaxParallel,
            Jobs = results!,
        };
    }

    private static JobResult Unfinished(ScheduledJob job, JobStatus status, string message, DateTime? now) => new()
    {
        Id = job.Id,
        Type = job.Type,
        Status = status,
        Attempts = 0,
        Error = new JobError(status.ToString(), message),
        FinishedAt = now is { } t ? new DateTimeOffset(t, TimeSpan.Zero) : null,
    };

    private BatchSummary Summary() => new()
    {
        Total = results.Length,
        Succeeded = succeeded,
        Failed = failed,
        TimedOut = timedOut,
        Cancelled = cancelled,
        Running = running,
        Pending = Pending,
    };

    private void Set(int index, JobResult result)
    {
        if (results[index] is not null)
        {
            return; // a result is recorded once
        }

        results[index] = result;
        switch (result.Status)
        {
            case JobStatus.Succeeded: succeeded++; break;
            case JobStatus.Failed: failed++; break;
            case JobStatus.Cancelled: cancelled++; break;
            default: timedOut++; break;
        }
    }
}
