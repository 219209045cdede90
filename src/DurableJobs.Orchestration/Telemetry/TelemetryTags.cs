namespace DurableJobs.Orchestration.Telemetry;

/// <summary>The tag (attribute) names on DurableJobs spans and metrics.</summary>
public static class TelemetryTags
{
    /// <summary>The batch id (spans only: unbounded values stay off metrics).</summary>
    public const string BatchId = "durablejobs.batch.id";

    /// <summary>Jobs in the submitted batch.</summary>
    public const string JobCount = "durablejobs.batch.job_count";

    /// <summary>The batch's cap.</summary>
    public const string MaxParallel = "durablejobs.batch.max_parallel";

    /// <summary>True when the submitted batch id already named a batch, so nothing started.</summary>
    public const string Existed = "durablejobs.batch.existed";

    /// <summary>Submission outcome on <see cref="DurableJobsTelemetry.BatchesSubmitted"/>: started, existing or invalid.</summary>
    public const string SubmitOutcome = "durablejobs.submit.outcome";

    /// <summary>The job id (spans only).</summary>
    public const string JobId = "durablejobs.job.id";

    /// <summary>The job's handler type.</summary>
    public const string JobType = "durablejobs.job.type";

    /// <summary>A named limit.</summary>
    public const string Limit = "durablejobs.limit";

    /// <summary>Attempts made (on a job span) or the attempt number (on an attempt event).</summary>
    public const string Attempt = "durablejobs.job.attempt";

    /// <summary>The final status: succeeded, failed, timed_out, cancelled; on a job span also abandoned (host shutdown).</summary>
    public const string JobStatus = "durablejobs.job.status";

    /// <summary>Index of the first job of a chunk.</summary>
    public const string ChunkStart = "durablejobs.chunk.start";

    /// <summary>Jobs in a chunk.</summary>
    public const string ChunkCount = "durablejobs.chunk.count";

    /// <summary>Jobs of a chunk already recorded by an earlier delivery, not run again.</summary>
    public const string ChunkRecordedBefore = "durablejobs.chunk.recorded_before";

    /// <summary>The queue message id.</summary>
    public const string MessageId = "messaging.message.id";

    /// <summary>How many times the queue has delivered the message.</summary>
    public const string DequeueCount = "durablejobs.queue.dequeue_count";

    /// <summary>What became of a queue message: started, already_existed, poison or error.</summary>
    public const string QueueOutcome = "durablejobs.queue.outcome";

    /// <summary>The schedule an occurrence belongs to.</summary>
    public const string Schedule = "durablejobs.schedule.name";

    /// <summary>The occurrence's time (ISO 8601, UTC).</summary>
    public const string Occurrence = "durablejobs.schedule.occurrence";

    /// <summary>What started the occurrence: cron, catch-up, queued or manual.</summary>
    public const string ScheduleTrigger = "durablejobs.schedule.trigger";

    /// <summary>Seconds from the occurrence's due time to its start.</summary>
    public const string TickLateness = "durablejobs.schedule.lateness";
}
