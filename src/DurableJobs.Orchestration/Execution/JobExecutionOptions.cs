namespace DurableJobs.Orchestration.Execution;

/// <summary>Process-level settings of job execution (the stop signal is a service of its own: <see cref="WorkerShutdown"/>).</summary>
internal sealed class JobExecutionOptions
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
    /// How long a chunk granted ahead waits for the chunk before it in its lane to show up in this process before it
    /// hands itself back to the orchestrator (which grants it again, ready, once that chunk finished). Bounded so that a
    /// waiting chunk never holds one of the worker's activity slots while its predecessor waits in the queue for one.
    /// </summary>
    public TimeSpan LaneDeferAfter { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a chunk granted ahead, whose predecessor runs in another process, waits for that process to record the
    /// lane finished (it then takes the lane's slots here) before it hands itself back. A handover saves what a deferral
    /// costs: two orchestration round trips with the lane's slots idle (seconds on a busy emulator).
    /// </summary>
    public TimeSpan LaneHandoverWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most chunks of this process waiting for a handover at once; more are deferred after <see cref="LaneDeferAfter"/>.
    /// Each holds one of the process's activity slots while it waits, so keep it well below them (the embedded engine
    /// uses a quarter of <c>MaxConcurrentActivityWorkItems</c>). 0: no handovers.
    /// </summary>
    public int MaxLaneHandoverWaits { get; set; } = DefaultMaxLaneHandoverWaits;

    /// <summary>The default of <see cref="MaxLaneHandoverWaits"/> where the host's activity slots are not known (Azure Functions).</summary>
    public const int DefaultMaxLaneHandoverWaits = 8;

    /// <summary>How often a chunk writes its running jobs' progress (coalesced: one write per chunk per interval at most).</summary>
    public TimeSpan ProgressFlushInterval { get; set; } = JobProgressTracker.DefaultFlushInterval;

    /// <summary>How long a handler that ignores its token after its job timeout is waited for before its attempt is abandoned.</summary>
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.FromSeconds(5);
}
