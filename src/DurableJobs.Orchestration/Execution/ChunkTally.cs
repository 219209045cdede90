using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Execution;

/// <summary>Counts a chunk's results into its <see cref="ChunkSummary"/>.</summary>
internal sealed class ChunkTally
{
    private int succeeded;
    private int failed;
    private int timedOut;
    private int cancelled;
    private int alreadyRecorded;
    private double busyMilliseconds;

    public void Add(JobResult result, bool recordedBefore)
    {
        switch (result.Status)
        {
            case JobStatus.Succeeded: succeeded++; break;
            case JobStatus.Failed: failed++; break;
            case JobStatus.Cancelled: cancelled++; break;
            default: timedOut++; break;
        }

        if (recordedBefore)
        {
            alreadyRecorded++;
        }
        else if (result.Status is JobStatus.Succeeded or JobStatus.Failed && result.StartedAt is { } start && result.FinishedAt is { } end)
        {
            // Only finished work says how long jobs take; stopped jobs would skew chunk sizing.
            busyMilliseconds += (end - start).TotalMilliseconds;
        }
    }

    public ChunkSummary ToSummary() => new()
    {
        Succeeded = succeeded,
        Failed = failed,
        TimedOut = timedOut,
        Cancelled = cancelled,
        AlreadyRecorded = alreadyRecorded,
        BusyMilliseconds = busyMilliseconds,
    };
}
