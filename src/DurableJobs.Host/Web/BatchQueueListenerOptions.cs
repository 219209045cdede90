namespace DurableJobs.Host.Web;

/// <summary>
/// The embedded host's queue listener, bound from <c>DurableJobs:Queue</c>. The defaults mirror the Functions
/// queue trigger's settings in host.json (<c>extensions.queues</c>), so a message is treated alike by both hosts.
/// The queue itself is named by <c>DurableJobs:BatchQueueName</c>.
/// </summary>
internal sealed class BatchQueueListenerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Queue";

    /// <summary>Listen at all. False leaves queue-triggered runs to another process.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Deliveries a message may fail before it moves to the poison queue (Functions' default is 5).</summary>
    public int MaxDequeueCount { get; set; } = Api.Queue.BatchQueueIntake.DefaultMaxDequeueCount;

    /// <summary>How long a received message stays invisible to other listeners while it is processed.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages fetched per poll, 1 to 32.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>The wait after an empty poll; it doubles while the queue stays empty.</summary>
    public TimeSpan MinPollingInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between polls of an idle queue.</summary>
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(2);

    internal void Validate()
    {
        if (MaxDequeueCount < 1 || BatchSize is < 1 or > 32 || VisibilityTimeout <= TimeSpan.Zero
            || MinPollingInterval <= TimeSpan.Zero || MaxPollingInterval < MinPollingInterval)
        {
            throw new InvalidOperationException(
                "DurableJobs:Queue needs MaxDequeueCount >= 1, BatchSize 1 to 32, a positive VisibilityTimeout and 0 < MinPollingInterval <= MaxPollingInterval.");
        }
    }
}
