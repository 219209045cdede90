namespace DurableJobs.Orchestration.Execution;

/// <summary>Process-level settings of job execution.</summary>
public sealed class JobExecutionOptions
{
    /// <summary>Cancelled when the host stops: running handlers stop and their chunks are delivered again.</summary>
    public CancellationToken HostStopping { get; set; }

    /// <summary>The clock used for job timestamps and the deadline.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
