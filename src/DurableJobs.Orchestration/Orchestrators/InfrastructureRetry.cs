using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// How the orchestrator retries its activities. Job failures never reach it (they are results), so whatever fails an
/// activity is infrastructure: storage down or throttled, a worker lost mid-write. That is worth retrying for as long
/// as a retry can still help, not a fixed number of times: Azure throttles for minutes and outages last longer, and
/// five attempts over about 15 s turned a minute of throttling into Failed jobs that had never run. The back-off
/// (1 s, doubling, at most 30 s) keeps a long outage to a few history events a minute per call.
/// </summary>
internal static class InfrastructureRetry
{
    private static readonly TimeSpan FirstInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long recording the jobs that will not run is retried. It has no deadline to race (it runs after the
    /// batch stopped), only an outage to outlast; past this the orchestration fails rather than wait forever.
    /// </summary>
    internal static readonly TimeSpan RecordWindow = TimeSpan.FromHours(1);

    /// <summary>A chunk: retried until the batch's deadline, after which its jobs would be TimedOut anyway.</summary>
    public static TaskOptions UntilDeadline(TaskOrchestrationContext context, DateTime deadline) => Within(deadline - context.CurrentUtcDateTime);

    /// <summary>Recording the results of jobs that will not run: retried for <see cref="RecordWindow"/>.</summary>
    public static TaskOptions ForRecords { get; } = Within(RecordWindow);

    /// <summary>Retried for <paramref name="window"/>.</summary>
    public static TaskOptions Within(TimeSpan window) => TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: int.MaxValue,
        firstRetryInterval: FirstInterval,
        backoffCoefficient: 2,
        maxRetryInterval: MaxInterval,

        // The policy refuses a timeout shorter than its first interval; a call at the deadline still gets one retry.
        retryTimeout: window > FirstInterval ? window : FirstInterval));
}
