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

    /// <summary>Longest wait between queue polls when idle. Durable Task's default is 30 s; we poll faster.</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

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

    /// <summary>Partition lease duration; a dead worker's partitions move after it. Null: the library default.</summary>
    public TimeSpan? LeaseInterval { get; set; }

    /// <summary>How often a worker renews its leases. Null: the library default.</summary>
    public TimeSpan? LeaseRenewInterval { get; set; }

    /// <summary>How often a worker looks for leases to take. Null: the library default.</summary>
    public TimeSpan? LeaseAcquireInterval { get; set; }

    /// <summary>How long a dequeued work item stays invisible to others; a crashed worker's items come back after it. Null: the library default.</summary>
    public TimeSpan? WorkItemQueueVisibilityTimeout { get; set; }

    /// <summary>Same as <see cref="WorkItemQueueVisibilityTimeout"/> for control-queue messages. Null: the library default.</summary>
    public TimeSpan? ControlQueueVisibilityTimeout { get; set; }

    /// <summary>How long a stopping host waits for its work items to be released.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often running activities check storage for a batch cancel.</summary>
    public TimeSpan CancelPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

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
    }
}
