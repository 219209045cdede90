using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// The failure budget (<c>abortWhen</c>), judged after each chunk's outcome. Once spent the batch takes the cancel
/// path: nothing new is granted, the cancel signal stops the running chunks' handlers (the orchestrator cannot write
/// it, so an activity does), jobs not run end Cancelled, and the batch ends Aborted with the reason.
/// </summary>
internal static class BatchBudget
{
    /// <summary>True when this call spent the budget and started stopping the batch.</summary>
    public static async Task<bool> CheckAsync(TaskOrchestrationContext context, BatchOrchestrationInput input, BatchState state, ILogger logger)
    {
        if (input.AbortWhen is not { } budget || state.StopStatus is not null)
        {
            return false;
        }

        FailureTally tally = state.Tally(input.FailedBefore);
        if (!budget.IsSpent(tally.Finished, tally.Failed))
        {
            return false;
        }

        string reason = budget.Reason(tally.Finished, tally.Failed);
        state.Abort(reason, context.CurrentUtcDateTime);
        context.SetCustomStatus(state.ToProgress());
        logger.LogWarning("Batch {BatchId} aborting: {Reason}", input.BatchId, reason);
        try
        {
            // Retried only as long as the stop grace: past it the running chunks are written off anyway.
            await context.CallActivityAsync<bool>(BatchNames.SignalCancelActivity, input.BatchId, InfrastructureRetry.Within(TimeSpan.FromSeconds(input.StopGraceSeconds)));
        }
        catch (TaskFailedException ex)
        {
            logger.LogWarning("Batch {BatchId}: the cancel signal could not be raised; running chunks stop at the grace period: {Error}", input.BatchId, ex.FailureDetails.ErrorMessage);
        }

        return true;
    }
}
