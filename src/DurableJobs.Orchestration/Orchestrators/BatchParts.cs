using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Runs a batch too large for one history as consecutive parts: sub-orchestrations of at most
/// <see cref="ChunkingOptions.MaxJobsPerOrchestration"/> jobs, one at a time, each with the whole cap and the
/// batch's absolute deadline. The parent's history holds a few events per part; each part's history is bounded
/// by its size. Each part answers with an event, and the wait for it ends at the deadline too. A cancel is forwarded to the running part; parts never started end with the stop status, and so
/// do the unrecorded jobs of a part that does not answer in time after the stop. A pause and a resume are forwarded to
/// the running part, and a paused batch starts no next part until resumed. A failure budget counts across parts: each
/// part is told what the parts before it finished and failed, and a part that ends Aborted stops the batch.
/// </summary>
internal static class BatchParts
{
    // Durable Task's tag for a sub-orchestration whose parent does not wait for it (OrchestrationTags.FireAndForget).
    internal const string FireAndForgetTag = "FireAndForget";

    public static async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, DateTime deadline, int perOrchestration, ILogger logger)
    {
        int end = input.Start + input.RangeCount;
        int parts = (input.RangeCount + perOrchestration - 1) / perOrchestration;
        logger.LogInformation("Batch {BatchId}: {Jobs} jobs run as {Parts} parts of at most {PerPart}", input.BatchId, input.RangeCount, parts, perOrchestration);

        using var cancelEventCts = new CancellationTokenSource();
        Task<CancelBatchRequest> cancelEvent = context.WaitForExternalEvent<CancelBatchRequest>(BatchNames.CancelEvent, cancelEventCts.Token);

        // A part stops itself at the deadline (or on a cancel) and then has the stop grace to let its chunks stop
        // and to record the rest. One that has not answered by twice that never will (suspended, stuck, its start
        // lost): the wait ends there and the part's jobs without a result take the stop status, so no batch waits
        // past its deadline on a part.
        TimeSpan patience = TimeSpan.FromSeconds(2 * input.StopGraceSeconds);
        using var giveUpCts = new CancellationTokenSource();
        using var answerCts = new CancellationTokenSource();
        Task giveUp = context.CreateTimer(deadline + patience, giveUpCts.Token);
        var totals = new BatchSummary { Total = input.RangeCount, Pending = input.RangeCount };
        JobStatus? stop = null;
        DateTime? stoppedAt = null;
        string? abortReason = null;
        using var pause = new BatchPause(context);
        using var capChanges = new BatchCapChanges(context);
        var capSteps = new List<CapStep>();
        int next = input.Start;
        for (int part = 0; next < end && stop is null; part++)
        {
            int count = Math.Min(perOrchestration, end - next);
            string partId = InstanceId(input.BatchId, part);

            // Controls raised before the batch started, or while no part ran, apply to the next part from its start.
            pause.TakeArrived();
            if (capChanges.TakeArrived() is { } arrivedCap && arrivedCap != input.MaxParallel)
            {
                capSteps.Add(new CapStep(context.CurrentUtcDateTime, input.MaxParallel, arrivedCap));
                input = input with { MaxParallel = arrivedCap };
            }

            if (pause.IsPaused && await WaitForResumeAsync(context, pause, cancelEvent, deadline, () => Progress(input, deadline, totals, null, capSteps, paused: true)) is { } stopped)
            {
                stop = stopped;
                stoppedAt = stopped == JobStatus.TimedOut ? deadline : context.CurrentUtcDateTime;
                break;
            }

            context.SetCustomStatus(Progress(input, deadline, totals, partId, capSteps));

            // Started, not awaited: an orchestration cannot complete while a sub-orchestration it awaits is open, so a
            // part that never answered would hold the batch open for good. The part answers with an event instead.
            _ = context.CallSubOrchestratorAsync<BatchResult>(
                BatchNames.PartOrchestrator,
                input with
                {
                    Start = next,
                    Count = count,
                    DeadlineUtc = deadline,
                    ParentInstanceId = context.InstanceId,
                    Hooks = null,
                    FailedBefore = input.AbortWhen is null ? null : new FailureTally(totals.Succeeded + totals.Failed, totals.Failed),
                },
                new SubOrchestrationOptions { InstanceId = partId, Tags = new Dictionary<string, string> { [FireAndForgetTag] = string.Empty } });
            Task<BatchResult> answer = context.WaitForExternalEvent<BatchResult>(BatchNames.PartFinishedEvent, answerCts.Token);

            Task winner = await Task.WhenAny([answer, cancelEvent, giveUp, capChanges.Next, .. pause.Events]);
            while (true)
            {
                if (capChanges.TryTake(winner) is { } newCap)
                {
                    // The running part changes its lanes; the parts after it start with the new cap, and the batch reports it.
                    capSteps.Add(new CapStep(context.CurrentUtcDateTime, input.MaxParallel, newCap));
                    input = input with { MaxParallel = newCap };
                    context.SendEvent(partId, BatchNames.SetCapEvent, new CapChange(newCap));
                }
                else if (pause.TryTake(winner))
                {
                    // The running part holds back its own grants; the next part waits here for the resume.
                    context.SendEvent(partId, pause.IsPaused ? BatchNames.PauseEvent : BatchNames.ResumeEvent, new BatchControlRequest(null));
                }
                else
                {
                    break;
                }

                context.SetCustomStatus(Progress(input, deadline, totals, partId, capSteps, pause.IsPaused));
                winner = await Task.WhenAny([answer, cancelEvent, giveUp, capChanges.Next, .. pause.Events]);
            }

            if (winner == cancelEvent)
            {
                stop = JobStatus.Cancelled;
                stoppedAt = context.CurrentUtcDateTime;
                context.SendEvent(partId, BatchNames.CancelEvent, cancelEvent.Result);

                // The part stops now, not at the deadline, so it is waited for only as long as a stop takes.
                if (stoppedAt < deadline)
                {
                    giveUp = context.CreateTimer(stoppedAt.Value + patience, giveUpCts.Token);
                }

                winner = await Task.WhenAny(answer, giveUp);
            }

            if (winner == giveUp)
            {
                stop ??= JobStatus.TimedOut;
                stoppedAt ??= deadline;
                logger.LogWarning("Batch {BatchId}: part {Part} did not answer within {Seconds} s of the stop; its jobs without a result are recorded as {Status}", input.BatchId, partId, patience.TotalSeconds, stop);
                break;
            }

            BatchResult result = await answer;
            if (result.Status == BatchStatus.Failed)
            {
                logger.LogError("Batch {BatchId}: part {Part} failed; its jobs without a result are recorded as failed", input.BatchId, partId);
                totals = totals.Plus(new BatchSummary { Failed = count });
                await context.CallActivityAsync<int>(
                    BatchNames.RecordUnstartedActivity,
                    new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = [new JobRange(next, count)], Status = JobStatus.Failed, StoppedAtUtc = context.CurrentUtcDateTime },
                    InfrastructureRetry.ForRecords);
            }
            else
            {
                totals = totals.Plus(result.Summary);
                if (stop is null && result.Status is BatchStatus.TimedOut or BatchStatus.Cancelled or BatchStatus.Aborted)
                {
                    stop = result.Status == BatchStatus.TimedOut ? JobStatus.TimedOut : JobStatus.Cancelled;
                    stoppedAt = result.StoppedAtUtc ?? context.CurrentUtcDateTime;
                    abortReason = result.Status == BatchStatus.Aborted ? result.Reason : null;
                }
            }

            next += count;
        }

        cancelEventCts.Cancel();
        giveUpCts.Cancel();
        answerCts.Cancel();
        if (next < end)
        {
            // Parts never started, and a part written off above: results already recorded are kept (first one wins).
            JobStatus status = stop ?? JobStatus.TimedOut;
            await context.CallActivityAsync<int>(
                BatchNames.RecordUnstartedActivity,
                new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = [new JobRange(next, end - next)], Status = status, StoppedAtUtc = stoppedAt ?? context.CurrentUtcDateTime },
                InfrastructureRetry.ForRecords);
            totals = totals.Plus(status == JobStatus.Cancelled ? new BatchSummary { Cancelled = end - next } : new BatchSummary { TimedOut = end - next });
        }

        BatchStatus batchStatus = stop switch
        {
            _ when abortReason is not null => BatchStatus.Aborted,
            JobStatus.TimedOut => BatchStatus.TimedOut,
            JobStatus.Cancelled => BatchStatus.Cancelled,
            _ => BatchStatus.Completed,
        };
        context.SetCustomStatus(Progress(input, deadline, totals, null, capSteps));
        return new BatchResult
        {
            BatchId = input.BatchId,
            Status = batchStatus,
            Summary = totals,
            MaxParallel = input.MaxParallel,
            StoppedAtUtc = stoppedAt,
            Reason = abortReason,
            CapSteps = capSteps.Count == 0 ? null : [.. capSteps],
        };
    }

    /// <summary>
    /// Holds a paused batch between parts until a resume (null), a cancel (Cancelled) or the deadline (TimedOut).
    /// </summary>
    private static async Task<JobStatus?> WaitForResumeAsync(TaskOrchestrationContext context, BatchPause pause, Task cancelEvent, DateTime deadline, Func<BatchProgress> progress)
    {
        using var timerCts = new CancellationTokenSource();
        Task deadlineTimer = BatchOrchestrator.WaitForDeadlineAsync(context, deadline, timerCts.Token);
        try
        {
            while (pause.IsPaused)
            {
                context.SetCustomStatus(progress());
                Task winner = await Task.WhenAny([cancelEvent, deadlineTimer, .. pause.Events]);
                if (winner == cancelEvent)
                {
                    return JobStatus.Cancelled;
                }

                if (winner == deadlineTimer)
                {
                    return JobStatus.TimedOut;
                }

                pause.TryTake(winner);
            }

            return null;
        }
        finally
        {
            timerCts.Cancel();
        }
    }

    /// <summary>
    /// Runs one part and answers its batch with the outcome, failed or not: the batch waits for this answer (see
    /// <see cref="RunAsync"/>), not for the sub-orchestration.
    /// </summary>
    public static async Task<BatchResult> AnswerAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, string batchInstanceId, Task<BatchResult> run)
    {
        BatchResult result;
        try
        {
            result = await run;
        }
        catch (Exception)
        {
            context.SendEvent(batchInstanceId, BatchNames.PartFinishedEvent, new BatchResult
            {
                BatchId = input.BatchId,
                Status = BatchStatus.Failed,
                Summary = new BatchSummary { Total = input.RangeCount, Failed = input.RangeCount },
                MaxParallel = input.MaxParallel,
            });
            throw;
        }

        context.SendEvent(batchInstanceId, BatchNames.PartFinishedEvent, result);
        return result;
    }

    /// <summary>
    /// The instance id of part <paramref name="part"/> of batch <paramref name="batchId"/>. The ':' keeps it out of
    /// the ids a request may use (<see cref="Core.Validation.BatchValidator.IsValidId"/>): a user batch
    /// can never take a part's name, nor receive what is meant for it.
    /// </summary>
    internal static string InstanceId(string batchId, int part) => $"{batchId}:part-{part:D4}";

    private static BatchProgress Progress(BatchOrchestrationInput input, DateTime deadline, BatchSummary totals, string? currentPart, List<CapStep> capSteps, bool paused = false) => new()
    {
        CapSteps = capSteps.Count == 0 ? null : [.. capSteps],
        Paused = paused ? true : null,
        Summary = totals,
        MaxParallel = input.MaxParallel,
        DeadlineUtc = deadline,
        CurrentPart = currentPart,
    };
}
