using System.Text.Json;
using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Hooks;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;

namespace DurableJobs.Client.Hooks;

/// <summary>
/// One attempt of one hook step: reads the batch's final view (what <c>GET /api/batches/{id}</c> answers) and POSTs it,
/// queues it, or starts the next batch through <see cref="BatchClient.SubmitAsync"/> under its deterministic id (so an
/// attempt repeated after a crash finds the batch and starts nothing). Failures come back as outcomes, not exceptions,
/// so the orchestrator decides about retries with its own durable timers.
/// </summary>
internal sealed class DeliverBatchHookActivity : TaskActivity<HookStep, HookAttemptOutcome>
{
    // Queue messages are at most 64 KiB.
    private const int MaxQueueMessageBytes = 64 * 1024;

    // The hook starts after the batch's final state is written; should a read still see it running, it looks again
    // for a short while here before the attempt counts as failed.
    private static readonly TimeSpan FinalWait = TimeSpan.FromSeconds(5);

    /// <summary>The JSON of the API's answers: nulls written, so every documented field is there.</summary>
    internal static JsonSerializerOptions ViewJson { get; } = CreateViewJson();

    private readonly BatchClient batches;
    private readonly WebhookSender webhooks;
    private readonly IHookQueue queues;

    /// <summary>Creates the activity.</summary>
    public DeliverBatchHookActivity(BatchClient batches, WebhookSender webhooks, IHookQueue queues)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(webhooks);
        ArgumentNullException.ThrowIfNull(queues);
        this.batches = batches;
        this.webhooks = webhooks;
        this.queues = queues;
    }

    /// <inheritdoc />
    public override Task<HookAttemptOutcome> RunAsync(TaskActivityContext context, HookStep input) => DeliverAsync(input, CancellationToken.None);

    /// <summary>Makes the attempt (what <see cref="RunAsync"/> does; the Functions app calls it directly).</summary>
    public async Task<HookAttemptOutcome> DeliverAsync(HookStep step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        // What GET answers, less the hooks' own (still changing) delivery status.
        BatchView? view = await FinalViewAsync(step.BatchId, cancellationToken).ConfigureAwait(false) is { } read ? read with { Hooks = null } : null;
        if (view is null)
        {
            return new HookAttemptOutcome { State = HookStepState.Refused, Detail = $"Batch {step.BatchId} no longer exists." };
        }

        if (!view.IsFinished)
        {
            return new HookAttemptOutcome { State = HookStepState.Retrying, Detail = $"Batch {step.BatchId} is not final yet ({view.Status})." };
        }

        switch (step.Kind)
        {
            case HookStepKind.Webhook:
                string? problem = await webhooks.PostAsync(step.Target, JsonSerializer.Serialize(view, ViewJson), step.BatchId, step.Attempt, cancellationToken).ConfigureAwait(false);
                return problem is null
                    ? new HookAttemptOutcome { State = HookStepState.Delivered }
                    : new HookAttemptOutcome { State = HookStepState.Retrying, Detail = problem };
            case HookStepKind.Queue:
                string json = JsonSerializer.Serialize(view, ViewJson);
                if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxQueueMessageBytes)
                {
                    return new HookAttemptOutcome { State = HookStepState.Refused, Detail = "The view is larger than a queue message (64 KiB)." };
                }

                await queues.SendAsync(step.Target, json, cancellationToken).ConfigureAwait(false);
                return new HookAttemptOutcome { State = HookStepState.Delivered };
            case HookStepKind.Next:
                return await StartNextAsync(step, view, cancellationToken).ConfigureAwait(false);
            default:
                return new HookAttemptOutcome { State = HookStepState.Refused, Detail = $"Unknown step {step.Kind}." };
        }
    }

    private async Task<HookAttemptOutcome> StartNextAsync(HookStep step, BatchView view, CancellationToken cancellationToken)
    {
        if (step.Next?.Batch is not { } batch)
        {
            return new HookAttemptOutcome { State = HookStepState.Refused, Detail = "No next batch." };
        }

        if (step.Next.OnlyOnSuccess && !IsFullSuccess(view))
        {
            return new HookAttemptOutcome { State = HookStepState.Skipped, Detail = $"Batch {view.Id} ended {view.Status} with {view.Succeeded} of {view.Total} jobs succeeded; next batch only on success." };
        }

        SubmitOutcome outcome = await batches.SubmitAsync(batch with { BatchId = step.Target }, cancellationToken).ConfigureAwait(false);
        return outcome.Accepted
            ? new HookAttemptOutcome { State = HookStepState.Delivered, Detail = outcome.AlreadyExisted ? $"{step.Target} (already started)" : step.Target }
            : new HookAttemptOutcome { State = HookStepState.Refused, Detail = outcome.Validation.ToString() };
    }

    /// <summary>True when the batch ended Completed with every job succeeded.</summary>
    internal static bool IsFullSuccess(BatchView view) =>
        view.Status == BatchStatus.Completed && view.Succeeded == view.Total;

    private async Task<BatchView?> FinalViewAsync(string batchId, CancellationToken cancellationToken)
    {
        DateTime until = DateTime.UtcNow + FinalWait;
        while (true)
        {
            BatchView? view = await batches.GetAsync(batchId, cancellationToken).ConfigureAwait(false);
            if (view is null || view.IsFinished || DateTime.UtcNow >= until)
            {
                return view;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    private static JsonSerializerOptions CreateViewJson()
    {
        var options = new JsonSerializerOptions(DurableJobsJson.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
        options.MakeReadOnly();
        return options;
    }
}
