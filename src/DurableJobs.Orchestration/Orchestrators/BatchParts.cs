using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Runs a batch too large for one history as consecutive parts: sub-orchestrations of at most
/// <see cref="ChunkingOptions.MaxJobsPerOrchestration"/> jobs, one at a time, each with the whole cap and the
/// batch's absolute deadline. The parent's history holds a few events per part; each part's history is bounded
/// by its size. A cancel is forwarded to the running part; parts never started end with the stop status.
/// </summary>
internal static class BatchParts
{
    public static async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, DateTime deadline, int perOrchestration, ILogger logger)
    {
        int end = input.Start + input.RangeCount;
        int parts = (input.RangeCount + perOrchestration - 1) / perOrchestration;
        logger.LogInformation("Batch {BatchId}: {Jobs} jobs run as {Parts} parts of at most {PerPart}", input.BatchId, input.RangeCount, parts, perOrchestration);

        using var cancelEventCts = new CancellationTokenSource();
        Task<CancelBatchRequest> cancelEvent = context.WaitForExternalEvent<CancelBatchRequest>(BatchNames.CancelEvent, cancelEventCts.Token);
        var totals = new BatchSummary { Total = input.RangeCount, Pending = input.RangeCount };
        JobStatus? stop = null;
        DateTime? stoppedAt = null;
        int next = input.Start;
        for (int part = 0; next < end && stop is null; part++)
        {
            int count = Math.Min(perOrchestration, end - next);
            string partId = $"{input.BatchId}-part-{part:D4}";
            context.SetCustomStatus(Progress(input, deadline, totals, partId));
            Task<BatchResult> child = context.CallSubOrchestratorAsync<BatchResult>(
                BatchNames.PartOrchestrator,
                input with { Start = next, Count = count, DeadlineUtc = deadline },
                new SubOrchestrationOptions { InstanceId = partId });

            if (await Task.WhenAny(child, cancelEvent) == cancelEvent)
            {
                stop = JobStatus.Cancelled;
                stoppedAt = context.CurrentUtcDateTime;
                context.SendEvent(partId, BatchNames.CancelEvent, cancelEvent.Result);
            }

            try
            {
                BatchResult result = await child;
                totals = totals.Plus(result.Summary);
                if (stop is null && result.Status is BatchStatus.TimedOut or BatchStatus.Cancelled)
                {
                    stop = result.Status == BatchStatus.TimedOut ? JobStatus.TimedOut : JobStatus.Cancelled;
                    stoppedAt = result.StoppedAtUtc ?? context.CurrentUtcDateTime;
                }
            }
            catch (TaskFailedException ex)
            {
                logger.LogError("Batch {BatchId}: part {Part} failed: {Error}", input.BatchId, partId, ex.FailureDetails.ErrorMessage);
                totals = totals.Plus(new BatchSummary { Failed = count });
                await context.CallActivityAsync<int>(
                    BatchNames.RecordUnstartedActivity,
                    new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = [new JobRange(next, count)], Status = JobStatus.Failed, StoppedAtUtc = context.CurrentUtcDateTime },
                    InfrastructureRetry.ForRecords);
            }

            next += count;
        }

        cancelEventCts.Cancel();
        if (next < end)
        {
            JobStatus status = stop ?? JobStatus.TimedOut;
            await context.CallActivityAsync<int>(
                BatchNames.RecordUnstartedActivity,
                new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = [new JobRange(next, end - next)], Status = status, StoppedAtUtc = stoppedAt ?? context.CurrentUtcDateTime },
                InfrastructureRetry.ForRecords);
            totals = totals.Plus(status == JobStatus.Cancelled ? new BatchSummary { Cancelled = end - next } : new BatchSummary { TimedOut = end - next });
        }

        BatchStatus batchStatus = stop switch
        {
            JobStatus.TimedOut => BatchStatus.TimedOut,
            JobStatus.Cancelled => BatchStatus.Cancelled,
            _ => BatchStatus.Completed,
        };
        context.SetCustomStatus(Progress(input, deadline, totals, null));
        return new BatchResult
        {
            BatchId = input.BatchId,
            Status = batchStatus,
            Summary = totals,
            MaxParallel = input.MaxParallel,
            StoppedAtUtc = stoppedAt,
        };
    }

    private static BatchProgress Progress(BatchOrchestrationInput input, DateTime deadline, BatchSummary totals, string? currentPart) => new()
    {
        Summary = totals,
        MaxParallel = input.MaxParallel,
        DeadlineUtc = deadline,
        CurrentPart = currentPart,
    };
}
