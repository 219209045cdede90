using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Runs one job to its final result: attempts with back-off inside the activity, every wait and every
/// handler call on the job's stop token. Handler errors become a Failed result; a stop becomes TimedOut or
/// Cancelled; only host shutdown escapes, as <see cref="WorkerShuttingDownException"/>.
/// Telemetry: one <see cref="DurableJobsTelemetry.JobSpan"/> per job (attempts are events on it), the job metrics,
/// a log scope with the batch and job ids, the outcome at Information on <paramref name="outcomes"/> and each
/// attempt at Debug. Each attempt gets its own dependency-injection scope: the handler and the scoped services it takes
/// (a <c>DbContext</c>, say) are created for it and disposed after it, so a retry never sees a failed attempt's state.
/// </summary>
internal sealed class JobRunner(JobHandlerRegistry handlers, IServiceScopeFactory scopes, WorkerIdentity worker, TimeProvider time, ILogger logger, ILogger outcomes, IJobProgressStore? progressStore = null, LimitCatalog? limitCatalog = null, LimitGates? limitGates = null)
{
    /// <summary>
    /// How long a handler that ignores its cancelled token after its job timeout is waited for before the attempt is
    /// abandoned: the handler runs on, unobserved, and the job's slot goes to its next attempt (or its result).
    /// </summary>
    public TimeSpan AbandonAfter { get; init; } = TimeSpan.FromSeconds(5);

    private static readonly JsonElement NullPayload = JsonSerializer.SerializeToElement<object?>(null, DurableJobsJson.Options);

    public async ValueTask<JobResult> RunAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop, JobProgressTracker? progress = null, JsonElement? checkpoint = null, IReadOnlyDictionary<string, IReadOnlyList<string>>? requestLimits = null, LimitClaim? claim = null)
    {
        long startedAt = Stopwatch.GetTimestamp();
        var typeTag = new KeyValuePair<string, object?>(TelemetryTags.JobType, job.Type);
        DurableJobsTelemetry.JobsStarted.Add(1, typeTag);
        DurableJobsTelemetry.JobsInFlight.Add(1, typeTag);

        // Tags are built only for a span someone records: with no listener a job pays for a branch.
        Activity? span = DurableJobsTelemetry.Source.HasListeners() ? StartSpan(batchId, job) : null;
        using IDisposable? scope = JobLog.JobScope(logger, batchId, job.Id);
        JobResult? result = null;
        try
        {
            result = await RunAttemptsAsync(batchId, job, retry, stop, span, progress, checkpoint, requestLimits, claim ?? new LimitClaim(batchId, null, null)).ConfigureAwait(false);
            return result;
        }
        catch (WorkerShuttingDownException)
        {
            // Not an outcome: the job goes back to the queue and another delivery finishes it.
            span?.SetTag(TelemetryTags.JobStatus, "abandoned");
            throw;
        }
        catch (Exception ex) when (span is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, ex.Message);
            span.AddException(ex);
            throw;
        }
        finally
        {
            progress?.Ended(job.Index);
            DurableJobsTelemetry.JobsInFlight.Add(-1, typeTag);
            if (result is not null)
            {
                Record(batchId, job, result, typeTag, span, Stopwatch.GetElapsedTime(startedAt));
            }

            span?.Dispose();
        }
    }

    private static Activity? StartSpan(string batchId, ScheduledJob job)
    {
        Activity? span = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.JobSpan, ActivityKind.Internal);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.BatchId, batchId);
            span.SetTag(TelemetryTags.JobId, job.Id);
            span.SetTag(TelemetryTags.JobType, job.Type);
        }

        return span;
    }

    private void Record(string batchId, ScheduledJob job, JobResult result, KeyValuePair<string, object?> typeTag, Activity? span, TimeSpan elapsed)
    {
        var statusTag = new KeyValuePair<string, object?>(TelemetryTags.JobStatus, DurableJobsTelemetry.StatusTag(result.Status));
        DurableJobsTelemetry.JobsCompleted.Add(1, typeTag, statusTag);
        if (result.Attempts > 0)
        {
            // A job stopped before its first attempt never ran: it has a status but no duration.
            DurableJobsTelemetry.JobDuration.Record(elapsed.TotalSeconds, typeTag, statusTag);
        }

        JobLog.Outcome(outcomes, batchId, job.Id, result.Status, result.Attempts, elapsed.TotalMilliseconds);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.Attempt, result.Attempts);
            span.SetTag(statusTag.Key, statusTag.Value);

            // A cancel is what the caller asked for; a failure or a missed deadline is not.
            if (result.Status is JobStatus.Failed or JobStatus.TimedOut)
            {
                span.SetStatus(ActivityStatusCode.Error, result.Error?.Message);
            }
        }
    }

    private async ValueTask<JobResult> RunAttemptsAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop, Activity? span, JobProgressTracker? progress, JsonElement? checkpoint, IReadOnlyDictionary<string, IReadOnlyList<string>>? requestLimits, LimitClaim claim)
    {
        var throttles = new StrongBox<int>();
        JobResult result = await RunAttemptsAsync(batchId, job, retry, stop, span, progress, checkpoint, requestLimits, claim, throttles).ConfigureAwait(false);
        return throttles.Value > 0 ? result with { Throttled = throttles.Value } : result;
    }

    private async ValueTask<JobResult> RunAttemptsAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop, Activity? span, JobProgressTracker? progress, JsonElement? checkpoint, IReadOnlyDictionary<string, IReadOnlyList<string>>? requestLimits, LimitClaim claim, StrongBox<int> throttles)
    {
        CancellationToken token = stop.Token;
        if (!handlers.Contains(job.Type))
        {
            // Validation refuses unknown types at submission; a worker deployed without this handler cannot run it.
            throw new KeyNotFoundException($"No handler is registered for job type '{job.Type}' on worker {worker.Name}.");
        }

        JsonElement payload = job.Payload ?? NullPayload;
        DateTimeOffset? startedAt = null;
        JobError? lastError = null;
        int attempts = 0;
        int maxAttempts = Math.Max(1, retry.MaxAttempts);
        IReadOnlyList<string> limits = limitCatalog?.LimitsFor(job.Type, requestLimits) ?? [];
        DateTimeOffset? heldUntil = null;

        for (int attempt = 1; attempt <= maxAttempts; attempt++)
        {
            if (stop.ShouldStop)
            {
                return Stopped(batchId, job, stop, attempts, startedAt, lastError);
            }

            // Each attempt holds the job's named limits only while its handler runs: a retry's back-off and a throttle's
            // wait hold none. Taken before the job's start time, so start and finish times show exactly when it held them;
            // taken and given back as one unit, so nothing between the two can keep them.
            LimitPermits? permits = null;
            bool throttled = false;
            try
            {
                if (limits.Count > 0 && limitGates is not null)
                {
                    try
                    {
                        permits = await limitGates.AcquireAsync(limits, claim, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return Stopped(batchId, job, stop, attempts, startedAt, lastError);
                    }
                    catch (InvalidOperationException ex)
                    {
                        // A limit neither declared here nor stored: the job cannot run anywhere this is deployed.
                        return Final(job, JobStatus.Failed, attempts, startedAt) with { Error = JobError.FromException(ex) };
                    }
                }

                attempts = attempt;
                startedAt ??= time.GetUtcNow();
                if (span is { IsAllDataRequested: true })
                {
                    span.AddEvent(new ActivityEvent("durablejobs.job.attempt", tags: new ActivityTagsCollection { [TelemetryTags.Attempt] = attempt }));
                }

                TimeSpan? timeout = job.TimeoutSeconds is > 0 and { } seconds ? TimeSpan.FromSeconds(seconds) : null;
                using var reporter = new JobAttemptReporter(batchId, job, timeout, AbandonAfter, time, progress, progressStore);
                using var attemptStop = CancellationTokenSource.CreateLinkedTokenSource(token, reporter.TimedOut);
                progress?.Started(job, attempt);
                try
                {
                    // One line per attempt, so operators (and the fault suite) can count executions, redeliveries included.
                    logger.LogDebug("Job {BatchId}/{JobId} attempt {Attempt} started on {Worker}", batchId, job.Id, attempt, worker.Name);
                    var context = new JobContext(batchId, job.Id, attempt) { Checkpoint = checkpoint, Reporter = reporter };
                    JsonElement? output = await InvokeAsync(job, context, payload, attemptStop.Token, reporter).ConfigureAwait(false);
                    logger.LogDebug("Job {BatchId}/{JobId} attempt {Attempt} succeeded", batchId, job.Id, attempt);
                    permits?.Succeeded();
                    return Final(job, JobStatus.Succeeded, attempts, startedAt) with { Output = output };
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return Stopped(batchId, job, stop, attempts, startedAt, lastError);
                }
                catch (JobPayloadException ex)
                {
                    // The payload will not get better on a second try.
                    return Final(job, JobStatus.Failed, attempts, startedAt) with { Error = JobError.FromException(ex) };
                }
                catch (JobThrottledException ex) when (!reporter.TimedOut.IsCancellationRequested)
                {
                    // The downstream said "too many": not a failed attempt. The permits go back at once (cutting the limits'
                    // effective concurrency) and the job waits on its stop token, its job timeout still counting.
                    throttles.Value++;
                    DurableJobsTelemetry.JobsThrottled.Add(1, new KeyValuePair<string, object?>(TelemetryTags.JobType, job.Type));
                    JobLog.AttemptThrottled(logger, batchId, job.Id, attempt, ex.RetryAfter.TotalSeconds);
                    if (span is { IsAllDataRequested: true })
                    {
                        span.AddEvent(new ActivityEvent("durablejobs.job.throttled", tags: new ActivityTagsCollection { [TelemetryTags.Attempt] = attempt }));
                    }

                    if (permits is not null)
                    {
                        heldUntil = time.GetUtcNow();
                        permits.Throttled();
                        permits = null;
                    }

                    try
                    {
                        await Task.Delay(ex.RetryAfter, time, attemptStop.Token).ConfigureAwait(false);
                        throttled = true;
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        return Stopped(batchId, job, stop, attempts, startedAt, lastError);
                    }
                    catch (OperationCanceledException)
                    {
                        // Its job timeout fired during the wait: a timed-out attempt like any other.
                        lastError = TimedOutError(attempt, timeout!.Value);
                        JobLog.AttemptTimedOut(logger, batchId, job.Id, attempt, timeout.Value.TotalSeconds);
                    }
                }
                catch (Exception ex)
                {
                    // Whatever a handler throws once its timeout fired (its token's exception, mostly) is the timeout.
                    lastError = reporter.TimedOut.IsCancellationRequested ? TimedOutError(attempt, timeout!.Value) : JobError.FromException(ex);
                    if (lastError.Type == JobTimeoutError)
                    {
                        JobLog.AttemptTimedOut(logger, batchId, job.Id, attempt, timeout!.Value.TotalSeconds);
                    }

                    logger.LogDebug(ex, "Job {BatchId}/{JobId} attempt {Attempt} failed", batchId, job.Id, attempt);
                    if (span is { IsAllDataRequested: true })
                    {
                        span.AddEvent(new ActivityEvent("durablejobs.job.attempt.failed", tags: new ActivityTagsCollection
                        {
                            [TelemetryTags.Attempt] = attempt,
                            ["exception.type"] = lastError.Type,
                            ["exception.message"] = lastError.Message,
                        }));
                    }
                }
                finally
                {
                    checkpoint = reporter.LastCheckpoint ?? checkpoint;
                }
            }
            finally
            {
                // A job's finish time is taken while it still holds its permits (a success's result is made before this
                // runs), so start and finish times never show more jobs holding a limit than it allows.
                if (permits is not null)
                {
                    heldUntil = time.GetUtcNow();
                    permits.Dispose();
                }
            }

            if (throttled)
            {
                // The same attempt runs again: the retry budget is untouched.
                attempt--;
                continue;
            }

            if (attempt < maxAttempts)
            {
                try
                {
                    await Task.Delay(retry.DelayBefore(attempt + 1), time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return Stopped(batchId, job, stop, attempts, startedAt, lastError);
                }
            }
        }

        return Final(job, JobStatus.Failed, attempts, startedAt, heldUntil) with { Error = lastError };
    }

    private static JobError TimedOutError(int attempt, TimeSpan timeout) =>
        new(JobTimeoutError, $"Attempt {attempt} sent no heartbeat for {timeout.TotalSeconds:0.###} s (jobTimeoutSeconds) and was cancelled.");

    /// <summary>The <see cref="JobError.Type"/> of an attempt cancelled by its job timeout.</summary>
    public const string JobTimeoutError = "JobTimeout";

    /// <summary>
    /// Runs the handler in its own DI scope. With a timeout, a handler that ignores its cancelled token is waited for only
    /// until <see cref="JobAttemptReporter.Abandoned"/>; its scope is then disposed when it does end.
    /// </summary>
    private async Task<JsonElement?> InvokeAsync(ScheduledJob job, JobContext context, JsonElement payload, CancellationToken attemptToken, JobAttemptReporter reporter)
    {
        AsyncServiceScope scope = scopes.CreateAsyncScope();
        Task<JsonElement?> run;
        try
        {
            run = handlers.InvokeAsync(scope.ServiceProvider, job.Type, context, payload, attemptToken).AsTask();
        }
        catch
        {
            await scope.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (reporter.Timeout is null || run.IsCompleted)
        {
            await using (scope.ConfigureAwait(false))
            {
                return await run.ConfigureAwait(false);
            }
        }

        try
        {
            return await run.WaitAsync(reporter.Abandoned).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (reporter.Abandoned.IsCancellationRequested && !run.IsCompleted)
        {
            JobLog.AttemptAbandoned(logger, context.BatchId, context.JobId, context.Attempt, AbandonAfter.TotalSeconds);
            _ = run.ContinueWith(
                static async (ended, state) =>
                {
                    _ = ended.Exception; // observed: an abandoned handler's failure has no one to report to
                    await ((AsyncServiceScope)state!).DisposeAsync().ConfigureAwait(false);
                },
                scope,
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw new TimeoutException($"Attempt {context.Attempt} ignored its cancelled token after its job timeout and was abandoned.");
        }
        finally
        {
            if (run.IsCompleted)
            {
                await scope.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private JobResult Stopped(string batchId, ScheduledJob job, JobStopSignals stop, int attempts, DateTimeOffset? startedAt, JobError? lastError)
    {
        if (stop.HostStopping)
        {
            logger.LogDebug("Job {BatchId}/{JobId} stopped by host shutdown after {Attempts} attempts; it runs again on redelivery", batchId, job.Id, attempts);
            throw new WorkerShuttingDownException();
        }

        JobStatus status = stop.StopStatus;
        string message = status == JobStatus.Cancelled ? "The batch was cancelled." : "The batch deadline passed.";
        return Final(job, status, attempts, startedAt) with { Error = lastError ?? new JobError(status.ToString(), message) };
    }

    private JobResult Final(ScheduledJob job, JobStatus status, int attempts, DateTimeOffset? startedAt, DateTimeOffset? finishedAt = null) => new()
    {
        Id = job.Id,
        Type = job.Type,
        Status = status,
        Attempts = attempts,
        StartedAt = startedAt,
        FinishedAt = finishedAt ?? time.GetUtcNow(),
        Worker = worker.Name,
    };
}
