namespace DurableJobs.Orchestration.Execution;

/// <summary>Process-level settings of job execution.</summary>
internal sealed class JobExecutionOptions
{
    /// <summary>Cancelled when the host stops: running handlers stop and their chunks are delivered again.</summary>
    public CancellationToken HostStopping { get; set; }

    /// <summary>The clock used for job timestamps and the deadline.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The default of <see cref="MaxConcurrentBatches"/>.</summary>
    public const int DefaultMaxConcurrentBatches = 16;

    /// <summary>
    /// Most distinct batches running chunks in this process at once; a chunk of one more batch waits (it does not
    /// fail) until one leaves. 0 or less: no limit. Chunks of a batch already running here are never held back.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = DefaultMaxConcurrentBatches;
}
