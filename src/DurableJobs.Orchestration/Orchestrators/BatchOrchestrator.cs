using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Runs a batch: fans its jobs out to <see cref="BatchNames.ExecuteJobsActivity"/> in chunks over lanes whose shares
/// of the cap add up to <c>maxParallel</c>, each lane with its next chunk granted ahead (see <see cref="ChunkPlanner"/>),
/// and races the work against a durable
/// deadline timer and a cancel event (and, with a failure budget, the failures: see <see cref="BatchBudget"/>). A pause
/// (<see cref="BatchPause"/>) holds back new grants until a resume. Whichever stops the batch, nothing new is scheduled, running work stops
/// itself (activities watch the same deadline and the cancel signal), every job gets a recorded result, and the
/// orchestration completes with the counts.
/// </summary>
/// <remarks>Replay-safe: time comes from the context, logging goes through the replay-safe logger, no I/O.</remarks>
internal sealed class BatchOrchestrator : TaskOrchestrator<BatchOrchestrationInput, BatchResult>
{
    /// <inheritdoc />
    public override async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        if (input.Hooks is null)
        {
            return await RunBatchAsync(context, input);
        }

        // Whatever ends the batch, its hooks start in its last episode (a failure too: the hook then sees it Failed).
        BatchResult result;
        try
        {
            result = await RunBatchAsync(context, input);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Hooks.BatchHookStart.Start(context, input);
            throw;
        }

        Hooks.BatchHookStart.Start(context, input);
        return result;
    }

    private static async Task<BatchResult> RunBatchAsync(TaskOrchestrationContext context, BatchOrchestrationInput input)
    {
        ILogger logger = context.CreateReplaySafeLogger<BatchOrchestrator>();

        // A delayed batch waits for its start (or a cancel) first, so its deadline counts from the start.
        if (await BatchStart.WaitAsync(context, input, logger) is { } cancelledBeforeStart)
        {
            return cancelledBeforeStart;
        }

        // The deadline is fixed once, when the batch starts; parts inherit it.
        DateTime deadline = input.DeadlineUtc ?? context.CurrentUtcDateTime.AddSeconds(input.DeadlineSeconds);
        int perOrchestration = Math.Max(1, input.Chunking.MaxJobsPerOrchestration);
        if (input.RangeCount > perOrchestration)
        {
            return await BatchParts.RunAsync(context, input, deadline, perOrchestration, logger);
        }

        return input.ParentInstanceId is { } batch
            ? await BatchParts.AnswerAsync(context, input, batch, RunRangeAsync(context, input, deadline, logger))
            : await RunRangeAsync(context, input, deadline, logger);
    }

    private static async Task<BatchResult> RunRangeAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, DateTime deadline, ILogger logger)
    {
        var state = new BatchState(input, deadline, input.RangeCount);
        var planner = new ChunkPlanner(input.Start, input.RangeCount, input.MaxParallel, input.Chunking);
        logger.LogInformation("Batch {BatchId} jobs {Start}+{Count} started: cap {MaxParallel}, deadline {Deadline:o}", input.BatchId, input.Start, input.RangeCount, input.MaxParallel, deadline);

        using var timerCts = new CancellationTokenSource();
        using var cancelEventCts = new CancellationTokenSource();
        using var graceCts = new CancellationTokenSource();
        Task deadlineTimer = WaitForDeadlineAsync(context, deadline, timerCts.Token);
        Task<CancelBatchRequest> cancelEvent = context.WaitForExternalEvent<CancelBatchRequest>(BatchNames.CancelEvent, cancelEventCts.Token);
        Task? graceTimer = null;
        using var pause = new BatchPause(context);
        using var capChanges = new BatchCapChanges(context);

        // A list, not a set: Task.WhenAny must see the same order on every replay.
        var inFlight = new List<(Task<ChunkSummary> Call, ChunkPlan Plan)>();

        // Chunks a worker handed back (deferred), by first job, until the planner grants them again.
        var deferredStarts = new HashSet<int>();
        while (true)
        {
            // Controls that have arrived are taken before anything more is granted (one raised before the batch started
            // waited in a buffer until the waits above existed).
            if (state.StopStatus is null)
            {
                TakeArrivedControls(context, input, state, planner, pause, capChanges, logger);
            }

            // Fill free lanes: the next chunk starts as soon as a lane frees, not in waves.
            while (state.StopStatus is null && !pause.IsPaused && planner.TryNext() is { } plan)
            {
                if (!deferredStarts.Remove(plan.Start))
                {
                    // A deferred chunk granted again is still counted as scheduled.
                    state.Scheduled(plan);
                }

                Task<ChunkSummary> call = context.CallActivityAsync<ChunkSummary>(
                    BatchNames.ExecuteJobsActivity,
                    new JobChunk
                    {
                        BatchId = input.BatchId,
                        JobsKey = input.JobsKey,
                        Start = plan.Start,
                        Count = plan.Count,
                        Parallelism = plan.Parallelism,
                        Lane = input.Chunking.IsChunkAtATime ? null : LaneId(input, plan),
                        Sequence = input.Chunking.IsChunkAtATime ? 0 : plan.Sequence,
                        Ready = !input.Chunking.IsChunkAtATime && plan.Ready,
                        DeadlineUtc = deadline,
                        Retry = input.Retry,
                        TraceParent = input.TraceParent,
                        Limits = input.Limits,
                        Priority = input.Priority,
                        Tenant = input.Tenant,
                    },
                    InfrastructureRetry.UntilDeadline(context, deadline));
                inFlight.Add((call, plan));
            }

            context.SetCustomStatus(state.ToProgress());

            // A paused batch with nothing in flight still waits: for a resume, a cancel or its deadline.
            bool awaitingResume = pause.IsPaused && state.StopStatus is null && (planner.HasMore || planner.Deferred.Count > 0);
            if (inFlight.Count == 0 && !awaitingResume)
            {
                break;
            }

            var waitingOn = new List<Task>(inFlight.Count + 2);
            waitingOn.AddRange(inFlight.Select(f => (Task)f.Call));
            if (state.StopStatus is null)
            {
                waitingOn.Add(deadlineTimer);
                waitingOn.Add(cancelEvent);
                waitingOn.AddRange(pause.Events);
                waitingOn.Add(capChanges.Next);
            }
            else if (graceTimer is not null)
            {
                waitingOn.Add(graceTimer);
            }

            Task winner = await Task.WhenAny(waitingOn);
            if (winner == pause.PauseEvent || winner == pause.ResumeEvent || winner == capChanges.Next)
            {
                // Taken at the top of the loop, before anything is granted. The deadline still counts while paused.
                continue;
            }

            if (winner == deadlineTimer || winner == cancelEvent)
            {
                state.Stop(winner == deadlineTimer ? JobStatus.TimedOut : JobStatus.Cancelled, context.CurrentUtcDateTime);
                logger.LogWarning("Batch {BatchId} stopping: {Reason}; {InFlight} chunks still running", input.BatchId, state.StopStatus, inFlight.Count);
                graceTimer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(input.StopGraceSeconds), graceCts.Token);
                continue;
            }

            if (winner == graceTimer)
            {
                // Work that ignores its token is written off rather than holding the batch open forever.
                logger.LogWarning("Batch {BatchId}: {InFlight} chunks did not stop within the grace period", input.BatchId, inFlight.Count);
                foreach ((_, ChunkPlan plan) in inFlight)
                {
                    state.WriteOff(plan);
                }

                inFlight.Clear();
                break;
            }

            int done = inFlight.FindIndex(f => f.Call == winner);
            (Task<ChunkSummary> finished, ChunkPlan finishedPlan) = inFlight[done];
            inFlight.RemoveAt(done);
            try
            {
                ChunkSummary summary = await finished;
                planner.Finished(finishedPlan, summary);
                if (summary.Deferred)
                {
                    deferredStarts.Add(finishedPlan.Start);
                }
                else
                {
                    state.Record(finishedPlan, summary);
                }
            }
            catch (TaskFailedException ex)
            {
                planner.Finished(finishedPlan, null);
                if (state.StopStatus is not null || context.CurrentUtcDateTime >= deadline)
                {
                    // Retried until the batch stopped: its jobs did not fail, the deadline (or a cancel) came first.
                    logger.LogWarning("Batch {BatchId}: chunk {Start}+{Count} could not run before the batch stopped: {Error}", input.BatchId, finishedPlan.Start, finishedPlan.Count, ex.FailureDetails.ErrorMessage);
                    state.WriteOff(finishedPlan);
                }
                else
                {
                    logger.LogError("Batch {BatchId}: chunk {Start}+{Count} failed after retries: {Error}", input.BatchId, finishedPlan.Start, finishedPlan.Count, ex.FailureDetails.ErrorMessage);
                    state.FailChunk(finishedPlan);
                }
            }

            if (await BatchBudget.CheckAsync(context, input, state, logger))
            {
                graceTimer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(input.StopGraceSeconds), graceCts.Token);
            }
        }

        // Deferred chunks not granted again before the batch stopped ran nothing: they take the stop status.
        foreach (ChunkPlan plan in planner.Deferred)
        {
            state.WriteOff(plan);
        }

        // Never leave a timer or event wait outstanding: the orchestration completes now, not at the deadline.
        timerCts.Cancel();
        cancelEventCts.Cancel();
        graceCts.Cancel();

        int unscheduled = input.Start + input.RangeCount - planner.NextIndex;
        state.CloseUnscheduled(unscheduled);
        await RecordUnrunAsync(context, input, state, unscheduled);

        BatchResult result = state.ToResult();
        context.SetCustomStatus(state.ToProgress());
        logger.LogInformation(
            "Batch {BatchId} {Status}: {Succeeded} succeeded, {Failed} failed, {TimedOut} timed out, {Cancelled} cancelled",
            input.BatchId, result.Status, result.Summary.Succeeded, result.Summary.Failed, result.Summary.TimedOut, result.Summary.Cancelled);
        return result;
    }

    private static async Task RecordUnrunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, BatchState state, int unscheduled)
    {
        var stopped = new List<JobRange>(state.WrittenOff);
        if (unscheduled > 0)
        {
            stopped.Add(new JobRange(input.Start + input.RangeCount - unscheduled, unscheduled));
        }

        DateTime now = context.CurrentUtcDateTime;
        if (stopped.Count > 0)
        {
            await context.CallActivityAsync<int>(
                BatchNames.RecordUnstartedActivity,
                new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = stopped, Status = state.StopStatus ?? JobStatus.TimedOut, StoppedAtUtc = state.StoppedAt ?? now },
                InfrastructureRetry.ForRecords);
        }

        if (state.FailedRanges.Count > 0)
        {
            await context.CallActivityAsync<int>(
                BatchNames.RecordUnstartedActivity,
                new UnstartedJobs { BatchId = input.BatchId, JobsKey = input.JobsKey, Ranges = state.FailedRanges, Status = JobStatus.Failed, StoppedAtUtc = now },
                InfrastructureRetry.ForRecords);
        }
    }

    /// <summary>Takes the pause, resume and cap events that have arrived, into the planner and the state.</summary>
    private static void TakeArrivedControls(TaskOrchestrationContext context, BatchOrchestrationInput input, BatchState state, ChunkPlanner planner, BatchPause pause, BatchCapChanges capChanges, ILogger logger)
    {
        if (pause.TakeArrived() && state.Paused != pause.IsPaused)
        {
            state.Paused = pause.IsPaused;
            logger.LogInformation("Batch {BatchId} {Action}", input.BatchId, pause.IsPaused ? "paused" : "resumed");
        }

        if (capChanges.TakeArrived() is { } cap && cap != state.Cap)
        {
            planner.ChangeCap(cap);
            state.ChangeCap(cap, context.CurrentUtcDateTime);
            logger.LogInformation("Batch {BatchId} cap changed to {MaxParallel}{Draining}", input.BatchId, cap, planner.IsDraining ? "; waiting for the chunks under the old cap to finish" : string.Empty);
        }
    }

    /// <summary>A lane's id within the batch: parts run their own lanes, so the part's first job is part of it.</summary>
    internal static string LaneId(BatchOrchestrationInput input, ChunkPlan plan) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{input.Start}.{plan.Lane}");

    internal static async Task WaitForDeadlineAsync(TaskOrchestrationContext context, DateTime deadline, CancellationToken cancellationToken)
    {
        await context.CreateTimer(deadline, cancellationToken);

        // Azure Storage timers can fire up to a second early (queue visibility drops the fraction): re-arm.
        while (context.CurrentUtcDateTime < deadline)
        {
            await context.CreateTimer(deadline, cancellationToken);
        }
    }
}
