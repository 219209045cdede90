using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Model;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Runs one job to its final result: attempts with back-off inside the activity, every wait and every
/// handler call on the job's stop token. Handler errors become a Failed result; a stop becomes TimedOut or
/// Cancelled; only host shutdown escapes, as <see cref="WorkerShuttingDownException"/>.
/// </summary>
internal sealed class JobRunner(JobHandlerRegistry handlers, WorkerIdentity worker, TimeProvider time, ILogger logger)
{
    private static readonly JsonElement NullPayload = JsonSerializer.SerializeToElement<object?>(null, DurableJobsJson.Options);

    public async ValueTask<JobResult> RunAsync(string batchId, ScheduledJob job, RetrySpec retry, JobStopSignals stop)
    {
        CancellationToken token = stop.Token;
        IJobHandler handler = handlers.Get(job.Type);
        JsonElement payload = job.Payload ?? NullPayload;
        DateTimeOffset? startedAt = null;
        JobError? lastError = null;
        int attempts = 0;
        int maxAttempts = Math.Max(1, retry.MaxAttempts);

        for (int attempt = 1; attempt <= maxAttempts; attempt++)
        {
            if (token.IsCancellationRequested)
            {
                return Stopped(job, stop, attempts, startedAt, lastError);
            }

            attempts = attempt;
            startedAt ??= time.GetUtcNow();
            try
            {
                JsonElement? output = await handler.ExecuteAsync(new JobContext(batchId, job.Id, attempt), payload, token).ConfigureAwait(false);
                logger.LogDebug("Job {BatchId}/{JobId} attempt {Attempt} succeeded", batchId, job.Id, attempt);
                return Final(job, JobStatus.Succeeded, attempts, startedAt) with { Output = output };
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return Stopped(job, stop, attempts, startedAt, lastError);
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
            }

            if (attempt < maxAttempts)
            {
                try
                {
                    await Task.Delay(retry.DelayBefore(attempt + 1), time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return Stopped(job, stop, attempts, startedAt, lastError);
                }
            }
        }

        return Final(job, JobStatus.Failed, attempts, startedAt) with { Error = lastError };
    }

    private JobResult Stopped(ScheduledJob job, JobStopSignals stop, int attempts, DateTimeOffset? startedAt, JobError? lastError)
    {
        if (stop.HostStopping)
        {
            throw new WorkerShuttingDownException();
        }

        JobStatus status = stop.StopStatus;
        string message = status == JobStatus.Cancelled ? "The batch was cancelled." : "The batch deadline passed.";
        return Final(job, status, attempts, startedAt) with { Error = lastError ?? new JobError(status.ToString(), message) };
    }

    private JobResult Final(ScheduledJob job, JobStatus status, int attempts, DateTimeOffset? startedAt) => new()
    {
        Id = job.Id,
        Type = job.Type,
        Status = status,
        Attempts = attempts,
        StartedAt = startedAt,
        FinishedAt = time.GetUtcNow(),
        Worker = worker.Name,
    };
}
