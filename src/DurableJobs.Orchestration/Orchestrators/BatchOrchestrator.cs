using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// Runs a batch: fans its jobs out to <see cref="BatchNames.ExecuteJobsActivity"/> in a sliding window that
/// never holds more than <c>maxParallel</c> jobs in flight, and races the work against a durable deadline
/// timer and a cancel event. Whichever stops the batch, nothing new is scheduled, running work stops itself
/// (activities watch the same deadline and the cancel signal), and the batch ends with a result per job.
/// </summary>
/// <remarks>Replay-safe: time comes from the context, logging goes through the replay-safe logger, no I/O.</remarks>
public sealed class BatchOrchestrator : TaskOrchestrator<BatchOrchestrationInput, BatchResult>
{
    /// <inheritdoc />
    public override async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        ILogger logger = context.CreateReplaySafeLogger<BatchOrchestrator>();
        DateTime deadline = context.CurrentUtcDateTime.AddSeconds(input.DeadlineSeconds);
        var state = new BatchState(input, deadline);
        var chunks = Plan(input);
        logger.LogInformation(
            "Batch {BatchId} started: {Jobs} jobs in {Chunks} chunks, cap {MaxParallel}, deadline {Deadline:o}",
            input.BatchId, input.Jobs.Count, chunks.Count, input.MaxParallel, deadline);

        using var timerCts = new CancellationTokenSource();
        using var cancelEventCts = new CancellationTokenSource();
        using var graceCts = new CancellationTokenSource();
        Task deadlineTimer = WaitForDeadlineAsync(context, deadline, timerCts.Token);
        Task<CancelBatchRequest> cancelEvent = context.WaitForExternalEvent<CancelBatchRequest>(BatchNames.CancelEvent, cancelEventCts.Token);
        Task? graceTimer = null;

        var inFlight = new Dictionary<Task<JobChunkResult>, ChunkPlan>();
        int nextChunk = 0;
        int usedSlots = 0;

        while (true)
        {
            // Fill the window: the next chunk starts as soon as its slots are free, not in waves.
            while (state.StopStatus is null && nextChunk < chunks.Count && usedSlots + chunks[nextChunk].Parallelism <= input.MaxParallel)
            {
                ChunkPlan plan = chunks[nextChunk++];
                usedSlots += plan.Parallelism;
                state.MarkRunning(plan);
                Task<JobChunkResult> call = context.CallActivityAsync<JobChunkResult>(
                    BatchNames.ExecuteJobsActivity,
                    new JobChunk
                    {
                        BatchId = input.BatchId,
                        Jobs = plan.Jobs,
                        Parallelism = plan.Parallelism,
                        DeadlineUtc = deadline,
                        Retry = input.Retry,
                    });
                inFlight.Add(call, plan);
            }

            context.SetCustomStatus(state.ToProgress());
            if (inFlight.Count == 0)
            {
                break;
            }

            var waitingOn = new List<Task>(inFlight.Count + 2);
            waitingOn.AddRange(inFlight.Keys);
            if (state.StopStatus is null)
            {
                waitingOn.Add(deadlineTimer);
                waitingOn.Add(cancelEvent);
            }
            else if (graceTimer is not null)
            {
                waitingOn.Add(graceTimer);
            }

            Task winner = await Task.WhenAny(waitingOn);
            if (winner == deadlineTimer || winner == cancelEvent)
            {
                state.Stop(winner == deadlineTimer ? JobStatus.TimedOut : JobStatus.Cancelled);
                logger.LogWarning("Batch {BatchId} stopping: {Reason}; {InFlight} chunks still running", input.BatchId, state.StopStatus, inFlight.Count);
                graceTimer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(input.StopGraceSeconds), graceCts.Token);
                continue;
            }

            if (winner == graceTimer)
            {
                // Work that ignores its token is written off rather than holding the batch open forever.
                logger.LogWarning("Batch {BatchId}: {InFlight} chunks did not stop within the grace period", input.BatchId, inFlight.Count);
                foreach (ChunkPlan plan in inFlight.Values)
                {
                    state.WriteOff(plan, context.CurrentUtcDateTime);
                }

                inFlight.Clear();
                break;
            }

            var finished = (Task<JobChunkResult>)winner;
            ChunkPlan done = inFlight[finished];
            inFlight.Remove(finished);
            usedSlots -= done.Parallelism;
            try
            {
                state.Record(done, (await finished).Results);
            }
            catch (TaskFailedException ex)
            {
                logger.LogError("Batch {BatchId}: a chunk activity failed: {Error}", input.BatchId, ex.FailureDetails.ErrorMessage);
                state.FailChunk(done, new JobError(ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage), context.CurrentUtcDateTime);
            }
        }

        // Never leave a timer or event wait outstanding: the orchestration completes now, not at the deadline.
        timerCts.Cancel();
        cancelEventCts.Cancel();
        graceCts.Cancel();

        BatchResult result = state.ToResult(context.CurrentUtcDateTime);
        context.SetCustomStatus(state.ToProgress());
        logger.LogInformation(
            "Batch {BatchId} {Status}: {Succeeded} succeeded, {Failed} failed, {TimedOut} timed out, {Cancelled} cancelled",
            input.BatchId, result.Status, result.Summary.Succeeded, result.Summary.Failed, result.Summary.TimedOut, result.Summary.Cancelled);
        return result;
    }

    /// <summary>Splits the batch into chunks of consecutive jobs, each holding as many slots as jobs it may run at once.</summary>
    internal static List<ChunkPlan> Plan(BatchOrchestrationInput input)
    {
        int size = Math.Max(1, input.JobsPerChunk);
        var chunks = new List<ChunkPlan>((input.Jobs.Count + size - 1) / size);
        for (int start = 0; start < input.Jobs.Count; start += size)
        {
            int count = Math.Min(size, input.Jobs.Count - start);
            var jobs = new ScheduledJob[count];
            for (int i = 0; i < count; i++)
            {
                jobs[i] = input.Jobs[start + i];
            }

            chunks.Add(new ChunkPlan(jobs, Math.Min(count, input.MaxParallel)));
        }

        return chunks;
    }

    private static async Task WaitForDeadlineAsync(TaskOrchestrationContext context, DateTime deadline, CancellationToken cancellationToken)
    {
        await context.CreateTimer(deadline, cancellationToken);

        // Azure Storage timers can fire up to a second early (queue visibility drops the fraction): re-arm.
        while (context.CurrentUtcDateTime < deadline)
        {
            await context.CreateTimer(deadline, cancellationToken);
        }
    }
}
