namespace DurableJobs.Engine.Hosting;

/// <summary>
/// Task hub settings of the embedded engine, bound from the <c>DurableJobs</c> configuration section
/// (the same names the Functions app reads). Defaults favour low latency on Azurite.
/// </summary>
public sealed class EngineOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs";

    /// <summary>Task hub name: processes sharing it (and the storage account) share the work.</summary>
    public string HubName { get; set; } = "DurableJobsHub";

    /// <summary>Control-queue partitions, 1 to 16: the most processes that can run orchestrations at once.</summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>
    /// Longest wait between queue polls when idle (Durable Task backs off from 50 ms to it). Durable Task's default is
    /// 30 s. A batch submitted by another process (an API host, a queue listener, a CLI) waits on this poll: for an idle
    /// worker the first job started at p50 614 ms after the submit at 1 s, 254 ms at 0.25 s. The price is idle traffic:
    /// a worker polls each control queue it owns and the work-item queue up to 4 times a second, 20 requests a second
    /// (52 million a month) for one worker owning 4 partitions, against 13 million at 1 s.
    /// </summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Activity work items (job chunks) one process runs at once.</summary>
    public int MaxConcurrentActivityWorkItems { get; set; } = 100;

    /// <summary>
    /// Distinct batches one process runs jobs of at once; chunks of one more batch wait (they do not fail) until a
    /// batch leaves, and another worker with room may take them meanwhile. 0: no limit.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = Orchestration.Execution.JobExecutionOptions.DefaultMaxConcurrentBatches;

    /// <summary>Orchestration work items one process runs at once.</summary>
    public int MaxConcurrentOrchestrationWorkItems { get; set; } = 16;

    /// <summary>Keep orchestrations in memory between episodes (fewer history replays).</summary>
    public bool ExtendedSessions { get; set; }

    /// <summary>Run orchestrations and activities in this process. False for an API-only process.</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>
    /// Partition lease duration: a killed worker's partitions (the orchestrations they hold) move to a live worker this
    /// long after its last renewal, plus up to one <see cref="LeaseAcquireInterval"/>. Durable Task's default is 30 s;
    /// 8 s moves them in 6 to 10 s and still lets a worker miss three renewals in a row (a 6 s stall) before a live
    /// one loses a partition.
    /// </summary>
    public TimeSpan LeaseInterval { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>How often a worker renews its leases (blob partition management; the table manager renews every <see cref="LeaseAcquireInterval"/>). Durable Task's default is 10 s.</summary>
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a worker reads the partition table: it renews its own leases and takes expired or released ones. Durable
    /// Task's default is 10 s. Each round is one query and one write per owned partition.
    /// </summary>
    public TimeSpan LeaseAcquireInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a dequeued chunk stays invisible to other workers; a killed worker's chunks come back after it. Durable
    /// Task renews it every 5 s while the chunk runs, so it must be well above 5 s: at 10 s a renewal can be 5 s late
    /// before a running chunk is delivered twice. Durable Task's default is 5 minutes.
    /// </summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Same as <see cref="WorkItemQueueVisibilityTimeout"/> for control-queue (orchestration) messages a killed worker had read. Durable Task's default is 5 minutes.</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stopping host waits for its work items to be released.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often running activities check storage for a batch cancel.</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Durable Task renews a running work item's visibility this often (fixed in its dispatchers).</summary>
    internal static readonly TimeSpan MinimumVisibilityTimeout = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(HubName) || HubName.Length is < 3 or > 45 || !char.IsAsciiLetter(HubName[0]) || !HubName.All(char.IsAsciiLetterOrDigit))
        {
            throw new InvalidOperationException($"DurableJobs:HubName must be 3 to 45 ASCII letters or digits starting with a letter (got '{HubName}').");
        }

        if (PartitionCount is < 1 or > 16)
        {
            throw new InvalidOperationException($"DurableJobs:PartitionCount must be between 1 and 16 (got {PartitionCount}).");
        }

        if (MaxConcurrentActivityWorkItems < 1 || MaxConcurrentOrchestrationWorkItems < 1)
        {
            throw new InvalidOperationException("DurableJobs:MaxConcurrentActivityWorkItems and MaxConcurrentOrchestrationWorkItems must be at least 1.");
        }

        // A lease renewed less than twice per interval is lost by a live worker at the first slow round (churn).
        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseAcquireInterval <= TimeSpan.Zero || LeaseRenewInterval * 2 > LeaseInterval || LeaseAcquireInterval * 2 > LeaseInterval)
        {
            throw new InvalidOperationException(
                $"DurableJobs:LeaseRenewInterval and LeaseAcquireInterval must be positive and at most half of LeaseInterval (got {LeaseRenewInterval}, {LeaseAcquireInterval} and {LeaseInterval}).");
        }

        // Durable Task renews a running work item's visibility every 5 s; at or below that, running work is delivered twice.
        if (WorkItemQueueVisibilityTimeout <= MinimumVisibilityTimeout || ControlQueueVisibilityTimeout <= MinimumVisibilityTimeout)
        {
            throw new InvalidOperationException(
                $"DurableJobs:WorkItemQueueVisibilityTimeout and ControlQueueVisibilityTimeout must be more than {MinimumVisibilityTimeout.TotalSeconds:0} s, Durable Task's renewal period (got {WorkItemQueueVisibilityTimeout} and {ControlQueueVisibilityTimeout}).");
        }
    }
}
