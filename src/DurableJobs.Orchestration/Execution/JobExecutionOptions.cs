namespace DurableJobs.Orchestration.Execution;

/// <summary>Process-level settings of job execution (the stop signal is a service of its own: <see cref="WorkerShutdown"/>).</summary>
public sealed class JobExecutionOptions
{
    /// <summary>The clock used for job timestamps and the deadline.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The default of <see cref="MaxConcurrentBatches"/>.</summary>
    public const int DefaultMaxConcurrentBatches = 16;

    /// <summary>
    /// Most distinct batches running chunks in this process at once; a chunk of one more batch waits (it does not
    /// fail) until one leaves. 0 or less: no limit. Chunks of a batch already running here are never held back.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = DefaultMaxConcurrentBatches;

    /// <summary>
    /// How often a chunk whose lane predecessor runs in another process checks whether it finished (a point read of
    /// the hand-over row): the most slot time a lane loses when consecutive chunks land on different workers.
    /// </summary>
    public TimeSpan LaneHandoverPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
