using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// The wait of a delayed batch (<c>startAt</c> / <c>startAfterSeconds</c>): a durable timer raced against the cancel
/// event, before the deadline is fixed, so the deadline counts from the start and a restart of every worker does not
/// lose or move the start (the timer is a message in storage, not a timer in a process).
/// </summary>
internal static class BatchStart
{
    /// <summary>
    /// Waits until the batch's start time. Null when the batch may start now; otherwise the result of a batch
    /// cancelled before it started: every job recorded Cancelled with no attempt, none run.
    /// </summary>
    public static async Task<BatchResult?> WaitAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, ILogger logger)
    {
        // Parts inherit a started batch; a start time already passed starts at once.
        if (input.StartAtUtc is not { } startAt || input.ParentInstanceId is not null || context.CurrentUtcDateTime >= startAt)
        {
            return null;
        }

        context.SetCustomStatus(new BatchProgress
        {
            Summary = new BatchSummary { Total = input.JobCount, Pending = input.JobCount },
            MaxParallel = input.MaxParallel,
            StartAtUtc = startAt,
        });
        logger.LogInformation("Batch {BatchId} scheduled to start at {StartAt:o}", input.BatchId, startAt);

        using var timerCts = new CancellationTokenSource();
        using var cancelCts = new CancellationTokenSource();
        Task timer = BatchOrchestrator.WaitForDeadlineAsync(context, startAt, timerCts.Token);
        Task<CancelBatchRequest> cancel = context.WaitForExternalEvent<CancelBatchRequest>(BatchNames.CancelEvent, cancelCts.Token);
        if (await Task.WhenAny(timer, cancel) == timer)
        {
            // The batch's own wait for the event starts afresh; a cancel raised later reaches it.
            cancelCts.Cancel();
            return null;
        }

        timerCts.Cancel();
        DateTime now = context.CurrentUtcDateTime;
        logger.LogWarning("Batch {BatchId} cancelled before its start at {StartAt:o}", input.BatchId, startAt);
        if (input.JobCount > 0)
        {
            await context.CallActivityAsync<int>(
                BatchNames.RecordUnstartedActivity,
                new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = [new JobRange(0, input.JobCount)], Status = JobStatus.Cancelled, StoppedAtUtc = now },
                InfrastructureRetry.ForRecords);
        }

        var summary = new BatchSummary { Total = input.JobCount, Cancelled = input.JobCount };
        context.SetCustomStatus(new BatchProgress { Summary = summary, MaxParallel = input.MaxParallel, Stopping = BatchStatus.Cancelled });
        return new BatchResult { BatchId = input.BatchId, Status = BatchStatus.Cancelled, Summary = summary, MaxParallel = input.MaxParallel, StoppedAtUtc = now };
    }
}
