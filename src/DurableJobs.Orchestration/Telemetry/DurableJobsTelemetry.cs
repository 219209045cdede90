using System.Diagnostics;
using System.Diagnostics.Metrics;
using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Telemetry;

/// <summary>
/// The one <see cref="ActivitySource"/> and <see cref="Meter"/> of DurableJobs, both named <see cref="Name"/>, and
/// their instruments. Plain <c>System.Diagnostics</c>: the libraries take no OpenTelemetry dependency, hosts
/// choose the exporters. With no listener every call here costs a branch, so the job path stays cheap.
/// </summary>
public static class DurableJobsTelemetry
{
    /// <summary>The name of the activity source and of the meter: what a tracer or meter provider subscribes to.</summary>
    public const string Name = "DurableJobs";

    /// <summary>Span: <c>BatchClient.SubmitAsync</c>, client side.</summary>
    public const string SubmitSpan = "durablejobs.batch.submit";

    /// <summary>Span: scheduling the batch's orchestration, a child of the submit span.</summary>
    public const string OrchestrationStartSpan = "durablejobs.orchestration.start";

    /// <summary>Span: one job activity running a chunk of a batch's jobs.</summary>
    public const string ChunkSpan = "durablejobs.chunk.execute";

    /// <summary>Span: one job, all its attempts (attempts are events on it).</summary>
    public const string JobSpan = "durablejobs.job.execute";

    /// <summary>Span: one batch queue message turned (or not) into a batch.</summary>
    public const string QueueSpan = "durablejobs.queue.process";

    /// <summary>Span: one occurrence of a schedule starting its batch.</summary>
    public const string ScheduleOccurrenceSpan = "durablejobs.schedule.occurrence";

    /// <summary>Seconds from a schedule occurrence's due time (jitter included) to its batch's start.</summary>
    public const string TickLatenessMetric = "durablejobs.schedule.tick_lateness";

    /// <summary>Jobs a worker started running, tagged with <see cref="TelemetryTags.JobType"/>.</summary>
    public const string JobsStartedMetric = "durablejobs.jobs.started";

    /// <summary>Jobs that reached a final result, tagged with <see cref="TelemetryTags.JobStatus"/>.</summary>
    public const string JobsCompletedMetric = "durablejobs.jobs.completed";

    /// <summary>Seconds from a job's first attempt to its result.</summary>
    public const string JobDurationMetric = "durablejobs.job.duration";

    /// <summary>Jobs running on this process now.</summary>
    public const string JobsInFlightMetric = "durablejobs.jobs.in_flight";

    /// <summary>Seconds between a batch message's insertion in the queue and its processing.</summary>
    public const string QueueLagMetric = "durablejobs.queue.lag";

    /// <summary>Batch submissions, tagged with <see cref="TelemetryTags.SubmitOutcome"/>.</summary>
    public const string BatchesSubmittedMetric = "durablejobs.batches.submitted";

    /// <summary>Permits of a named limit its jobs hold in this process, by limit.</summary>
    public const string LimitPermitsInUseMetric = "durablejobs.limit.permits_in_use";

    /// <summary>How long a job waited for the named limits it needs.</summary>
    public const string LimitWaitMetric = "durablejobs.limit.wait";

    /// <summary>A limit's effective concurrency (cut by downstream throttling, regrown by clean completions), by limit.</summary>
    public const string LimitEffectiveMetric = "durablejobs.limit.effective";

    /// <summary>Times a handler said its downstream throttled it (a wait, not a failed attempt), by job type.</summary>
    public const string JobsThrottledMetric = "durablejobs.job.throttled";

    private static readonly string? Version = typeof(DurableJobsTelemetry).Assembly.GetName().Version?.ToString();

    /// <summary>The spans' source.</summary>
    public static ActivitySource Source { get; } = new(Name, Version);

    /// <summary>The instruments' meter.</summary>
    public static Meter Meter { get; } = new(Name, Version);

    /// <summary>Jobs a worker started running (every job the runner takes, whether or not its handler then runs), tag <see cref="TelemetryTags.JobType"/>.</summary>
    public static Counter<long> JobsStarted { get; } = Meter.CreateCounter<long>(JobsStartedMetric, "{job}", "Jobs a worker started running.");

    /// <summary>
    /// Jobs given a final result, tags <see cref="TelemetryTags.JobStatus"/> and <see cref="TelemetryTags.JobType"/>: by a
    /// worker, or without running (never started before a deadline or cancel; status TimedOut, Cancelled or Failed).
    /// </summary>
    public static Counter<long> JobsCompleted { get; } = Meter.CreateCounter<long>(JobsCompletedMetric, "{job}", "Jobs that reached a final result, by status.");

    /// <summary>Seconds from a job's first attempt to its result, retries and back-off included; tags status and type.</summary>
    public static Histogram<double> JobDuration { get; } = Meter.CreateHistogram<double>(JobDurationMetric, "s", "Time from a job's first attempt to its result.");

    /// <summary>Jobs running in this process now (up-down), tag <see cref="TelemetryTags.JobType"/>.</summary>
    public static UpDownCounter<long> LimitPermitsInUse { get; } = Meter.CreateUpDownCounter<long>(LimitPermitsInUseMetric, "{permit}", "Permits of a named limit held by jobs in this process.");

    /// <summary>See <see cref="LimitWaitMetric"/>.</summary>
    public static Histogram<double> LimitWait { get; } = Meter.CreateHistogram<double>(LimitWaitMetric, "s", "Time a job waited for its named limits.");

    /// <summary>See <see cref="LimitEffectiveMetric"/>: the value this process last read from the limit's row.</summary>
    public static Gauge<int> LimitEffective { get; } = Meter.CreateGauge<int>(LimitEffectiveMetric, "{permit}", "A named limit's effective concurrency after downstream throttling.");

    /// <summary>See <see cref="JobsThrottledMetric"/>, tag <see cref="TelemetryTags.JobType"/>.</summary>
    public static Counter<long> JobsThrottled { get; } = Meter.CreateCounter<long>(JobsThrottledMetric, "{throttle}", "Times a handler reported its downstream throttled it.");

    /// <summary>See <see cref="JobsInFlightMetric"/>.</summary>
    public static UpDownCounter<long> JobsInFlight { get; } = Meter.CreateUpDownCounter<long>(JobsInFlightMetric, "{job}", "Jobs running in this process.");

    /// <summary>Seconds a batch message waited in the queue before a listener or the queue trigger processed it.</summary>
    public static Histogram<double> QueueLag { get; } = Meter.CreateHistogram<double>(QueueLagMetric, "s", "Time from a batch message's insertion in the queue to its processing.");

    /// <summary>Batch submissions, tag <see cref="TelemetryTags.SubmitOutcome"/> (started, existing, invalid).</summary>
    public static Counter<long> BatchesSubmitted { get; } = Meter.CreateCounter<long>(BatchesSubmittedMetric, "{batch}", "Batch submissions by outcome.");

    /// <summary>How late schedule occurrences started their batches, in seconds, tag <see cref="TelemetryTags.ScheduleTrigger"/>.</summary>
    public static Histogram<double> TickLateness { get; } = Meter.CreateHistogram<double>(TickLatenessMetric, "s", "Time from a schedule occurrence's due time to its batch's start.");

    /// <summary>The value of <see cref="TelemetryTags.JobStatus"/> for a status: snake case, interned, so tagging allocates nothing.</summary>
    public static string StatusTag(JobStatus status) => status switch
    {
        JobStatus.Pending => "pending",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.TimedOut => "timed_out",
        JobStatus.Cancelled => "cancelled",
        _ => "unknown",
    };
}
