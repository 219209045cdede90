namespace DurableJobs.Orchestration;

/// <summary>The names under which orchestrations, activities and events are registered, shared by every host.</summary>
internal static class BatchNames
{
    /// <summary>The batch orchestrator.</summary>
    public const string Orchestrator = "BatchOrchestrator";

    /// <summary>A part of a large batch (the same orchestrator class over a range of jobs).</summary>
    public const string PartOrchestrator = "BatchPartOrchestrator";

    /// <summary>The activity that runs a chunk of jobs.</summary>
    public const string ExecuteJobsActivity = "ExecuteJobs";

    /// <summary>The activity that records results for jobs a stopped batch never started.</summary>
    public const string RecordUnstartedActivity = "RecordUnstarted";

    /// <summary>The activity that raises a batch's cancel signal for its running chunks (a spent failure budget).</summary>
    public const string SignalCancelActivity = "SignalCancel";

    /// <summary>The external event that pauses a batch: no new chunk is granted.</summary>
    public const string PauseEvent = "PauseBatch";

    /// <summary>The external event that resumes a paused batch.</summary>
    public const string ResumeEvent = "ResumeBatch";

    /// <summary>The external event that changes a running batch's cap (a <c>CapChange</c>).</summary>
    public const string SetCapEvent = "SetMaxParallel";

    /// <summary>The external event that cancels a batch.</summary>
    public const string CancelEvent = "CancelBatch";

    /// <summary>The external event with which a part answers its batch (a <c>BatchResult</c>).</summary>
    public const string PartFinishedEvent = "PartFinished";
}
