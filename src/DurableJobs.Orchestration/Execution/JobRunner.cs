using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Model;
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
internal sealed class JobRunner(JobHandlerRegistry handlers, IServiceScopeFactory scopes, WorkerIdentity worker, TimeProvider time, ILogger logger, ILogger outcomes, LimitCatalog? limitCatalog = null, LimitGates? limitGates = null)
{
    private static readonly JsonElement NullPayload = JsonSerializer.SerializeToElement<object?>(null, DurableJobsJson.Options);

    public async ValueTask<JobResult> RunAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop, IReadOnlyDictionary<string, IReadOnlyList<string>>? requestLimits = null)
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
            result = await RunAttemptsAsync(batchId, job, retry, stop, span, requestLimits).ConfigureAwait(false);
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

    private async ValueTask<JobResult> RunAttemptsAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop, Activity? span, IReadOnlyDictionary<string, IReadOnlyList<string>>? requestLimits)
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

            // Each attempt holds the job's named limits only while its handler runs: a retry's back-off holds none.
            LimitPermits? permits = null;
            if (limits.Count > 0 && limitGates is not null)
            {
                try
                {
                    permits = await limitGates.AcquireAsync(limits, batchId, token).ConfigureAwait(false);
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

            try
            {
                try
                {
                    // One line per attempt, so operators (and the fault suite) can count executions, redeliveries included.
                    logger.LogDebug("Job {BatchId}/{JobId} attempt {Attempt} started on {Worker}", batchId, job.Id, attempt, worker.Name);
                    JsonElement? output;
                    AsyncServiceScope scope = scopes.CreateAsyncScope();
                    await using (scope.ConfigureAwait(false))
                    {
                        output = await handlers.InvokeAsync(scope.ServiceProvider, job.Type, new JobContext(batchId, job.Id, attempt), payload, token).ConfigureAwait(false);
                    }

                    logger.LogDebug("Job {BatchId}/{JobId} attempt {Attempt} succeeded", batchId, job.Id, attempt);
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
                catch (Exception ex)
                {
                    lastError = JobError.FromException(ex);
                    logger.LogDebug(ex, "Job {BatchId}/{JobId} attempt {Attempt} failed", batchId, job.Id, attempt);
                    if (span is { IsAllDataRequested: true })
                    {
                        span.AddEvent(new ActivityEvent("durablejobs.job.attempt.failed", tags: new ActivityTagsCollection
                        {
                            [TelemetryTags.Attempt] = attempt,
                            ["exception.type"] = ex.GetType().FullName,
                            ["exception.message"] = ex.Message,
                        }));
                    }
                }
            }
            finally
            {
                // A job's finish time is taken while it still holds its permits, so start and finish times never show more
                // jobs holding a limit than it allows.
                if (permits is not null)
                {
                    heldUntil = time.GetUtcNow();
                    permits.Dispose();
                }
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
