using DurableJobs.Orchestration.Orchestrators;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Hooks;

/// <summary>
/// Delivers one ended batch's hooks (instance <c>{batchId}:hook</c>, started by the batch's orchestration in its last
/// episode, so the batch is final in storage before it runs). Each step (webhook, queue, next batch) runs on its own:
/// an attempt is an activity, and a failed attempt waits on a durable timer (1 s, doubling, at most a minute) and tries
/// again until the hook's deadline. A crash anywhere repeats at most the attempt in flight: delivery is at least once,
/// and every attempt of a webhook carries the same idempotency key (the batch id).
/// </summary>
internal sealed class BatchHookOrchestrator : TaskOrchestrator<BatchHookInput, List<HookStepStatus>>
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    public override async Task<List<HookStepStatus>> RunAsync(TaskOrchestrationContext context, BatchHookInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        ILogger logger = context.CreateReplaySafeLogger<BatchHookOrchestrator>();
        DateTime giveUpAt = context.CurrentUtcDateTime.AddSeconds(input.Hooks.DeadlineSeconds);
        List<HookStep> steps = StepsOf(input);
        var statuses = steps.Select(s => new HookStepStatus { Kind = s.Kind, Target = s.Target, State = HookStepState.Retrying }).ToList();
        context.SetCustomStatus(statuses);
        await Task.WhenAll(steps.Select((step, i) => RunStepAsync(context, step, i, statuses, giveUpAt, logger)));
        context.SetCustomStatus(statuses);
        return statuses;
    }

    /// <summary>The steps of <paramref name="input"/>, in a fixed order.</summary>
    internal static List<HookStep> StepsOf(BatchHookInput input)
    {
        var steps = new List<HookStep>(3);
        if (input.Hooks.OnComplete?.Webhook is { } url)
        {
            steps.Add(new HookStep { BatchId = input.BatchId, Kind = HookStepKind.Webhook, Target = url });
        }

        if (input.Hooks.OnComplete?.Queue is { } queue)
        {
            steps.Add(new HookStep { BatchId = input.BatchId, Kind = HookStepKind.Queue, Target = queue });
        }

        if (input.Hooks.Next is { } next)
        {
            steps.Add(new HookStep { BatchId = input.BatchId, Kind = HookStepKind.Next, Target = next.IdAfter(input.BatchId), Next = next });
        }

        return steps;
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: 1 s, doubling, at most a minute.</summary>
    internal static TimeSpan RetryDelay(int attempt) =>
        TimeSpan.FromSeconds(Math.Min(MaxRetry.TotalSeconds, FirstRetry.TotalSeconds * Math.Pow(2, Math.Min(attempt - 1, 30))));

    private static async Task RunStepAsync(TaskOrchestrationContext context, HookStep step, int index, List<HookStepStatus> statuses, DateTime giveUpAt, ILogger logger)
    {
        for (int attempt = 1; ; attempt++)
        {
            HookAttemptOutcome outcome;
            try
            {
                outcome = await context.CallActivityAsync<HookAttemptOutcome>(HookNames.DeliverActivity, step with { Attempt = attempt });
            }
            catch (TaskFailedException ex)
            {
                outcome = new HookAttemptOutcome { State = HookStepState.Retrying, Detail = ex.FailureDetails.ErrorMessage };
            }

            TimeSpan delay = RetryDelay(attempt);
            HookStepState state = outcome.State == HookStepState.Retrying && context.CurrentUtcDateTime + delay > giveUpAt ? HookStepState.GaveUp : outcome.State;
            statuses[index] = statuses[index] with { State = state, Attempts = attempt, Detail = outcome.Detail, AtUtc = context.CurrentUtcDateTime };
            context.SetCustomStatus(statuses);
            if (state != HookStepState.Retrying)
            {
                if (state == HookStepState.Delivered)
                {
                    logger.LogInformation("Batch {BatchId} hook {Kind} {Target} {State} after {Attempts} attempts: {Detail}", step.BatchId, step.Kind, step.Target, state, attempt, outcome.Detail);
                }
                else
                {
                    logger.LogWarning("Batch {BatchId} hook {Kind} {Target} {State} after {Attempts} attempts: {Detail}", step.BatchId, step.Kind, step.Target, state, attempt, outcome.Detail);
                }

                return;
            }

            // Re-armed until due: an Azure Storage timer can fire up to a second early.
            await BatchOrchestrator.WaitForDeadlineAsync(context, context.CurrentUtcDateTime + delay, CancellationToken.None);
        }
    }
}

/// <summary>How the batch orchestrator starts its hooks.</summary>
internal static class BatchHookStart
{
    /// <summary>
    /// Starts <paramref name="input"/>'s hooks, when it has any, without waiting for them: the batch completes in this
    /// episode, and Durable Task writes its final state before it sends the message that starts the hook instance.
    /// </summary>
    public static void Start(TaskOrchestrationContext context, Model.BatchOrchestrationInput input)
    {
        if (input.Hooks is not { } hooks || input.ParentInstanceId is not null)
        {
            return;
        }

        _ = context.CallSubOrchestratorAsync<List<HookStepStatus>>(
            HookNames.Orchestrator,
            new BatchHookInput { BatchId = input.BatchId, Hooks = hooks },
            new SubOrchestrationOptions { InstanceId = HookNames.InstanceIdOf(input.BatchId), Tags = new Dictionary<string, string> { [BatchParts.FireAndForgetTag] = string.Empty } });
    }
}
