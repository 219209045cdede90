using System.Globalization;
using DurableJobs.Orchestration.Hooks;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask.Client;

namespace DurableJobs.Client;

/// <summary>Delete and retention: a finished batch and everything stored for it go, nothing left behind.</summary>
public sealed partial class BatchClient
{
    /// <summary>
    /// Deletes a finished batch: its orchestration instance and history, its parts' instances, its jobs, results,
    /// output blobs, signals, claim and list entry. A batch's re-runs (<c>{id}.rN</c>) reference its jobs, so they go
    /// with it (all of them must have finished too). A re-run on its own is deleted only when it is the latest, so the
    /// numbering of the re-runs left stays without gaps. Deleting is idempotent in effect: a delete that stopped half-way
    /// can be repeated.
    /// </summary>
    public Task<DeleteOutcome> DeleteAsync(string batchId, CancellationToken cancellationToken = default) =>
        DeleteWhereAsync(batchId, member => true, cancellationToken);

    /// <summary>
    /// One sweep of retention: deletes every indexed batch past its period (<see cref="RetentionOptions.IsExpired"/>).
    /// A batch with re-runs goes once each of them is past its period too. Returns how many batches were deleted.
    /// </summary>
    internal async Task<int> DeleteExpiredAsync(RetentionOptions retention, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(retention);
        if (!retention.Enabled)
        {
            return 0;
        }

        int deleted = 0;
        string? token = null;
        do
        {
            BatchPage page = await ListAsync(null, 100, token, cancellationToken).ConfigureAwait(false);
            foreach (BatchView batch in page.Items.Where(b => retention.IsExpired(b, now)))
            {
                if (await DeleteWhereAsync(batch.Id, member => retention.IsExpired(member, now), cancellationToken).ConfigureAwait(false) == DeleteOutcome.Deleted)
                {
                    deleted++;
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);

        return deleted;
    }

    private async Task<DeleteOutcome> DeleteWhereAsync(string batchId, Func<BatchView, bool> mayDelete, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        BatchView? view = await GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return DeleteOutcome.NotFound;
        }

        if (!view.IsFinished)
        {
            return DeleteOutcome.NotFinished;
        }

        if (!mayDelete(view))
        {
            return DeleteOutcome.NotFinished;
        }

        // A re-run's jobs are references to the original's, never the other way round (a re-run of a re-run references
        // the original too), so a re-run can go alone; the latest only, or the original's list of re-runs would stop at the gap.
        if (view.Reruns is null && await NextRerunAsync(batchId, cancellationToken).ConfigureAwait(false) is { } next && await ExistsAsync(next, cancellationToken).ConfigureAwait(false))
        {
            return DeleteOutcome.LaterRerunExists;
        }

        // A batch's completion hooks run in an instance of their own after it finished: it goes with the batch, once done.
        if (await durable.GetInstanceAsync(HookNames.InstanceIdOf(batchId), getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) is { IsCompleted: false })
        {
            return DeleteOutcome.NotFinished;
        }

        var reruns = new List<string>();
        foreach (string rerun in view.Reruns ?? [])
        {
            BatchView? member = await GetViewAsync(rerun, cancellationToken).ConfigureAwait(false);
            if (member is null)
            {
                continue;
            }

            if (!member.IsFinished || !mayDelete(member))
            {
                return DeleteOutcome.NotFinished;
            }

            reruns.Add(rerun);
        }

        // The latest re-run first and the batch last, its instance last of all: a delete that stops half-way leaves
        // the batch there to be deleted again.
        reruns.Reverse();
        foreach (string id in reruns.Append(batchId))
        {
            await DeleteOneAsync(id, cancellationToken).ConfigureAwait(false);
        }

        return DeleteOutcome.Deleted;
    }

    /// <summary>The id the re-run after <paramref name="batchId"/> would have, when <paramref name="batchId"/> is a re-run; else null.</summary>
    private async Task<string?> NextRerunAsync(string batchId, CancellationToken cancellationToken)
    {
        OrchestrationMetadata? metadata = await durable.GetInstanceAsync(batchId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (metadata?.ReadInputAs<BatchOrchestrationInput>()?.RerunOf is not { } root)
        {
            return null;
        }

        string suffix = batchId[root.Length..];
        return suffix.StartsWith(".r", StringComparison.Ordinal) && int.TryParse(suffix[2..], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? RerunId(root, n + 1)
            : null;
    }

    private async Task DeleteOneAsync(string batchId, CancellationToken cancellationToken)
    {
        // A batch run in parts has a sub-orchestration per part; each has an instance and a history of its own.
        var parts = new List<string>();
        await foreach (OrchestrationMetadata part in durable.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = batchId + ":part-" }).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            parts.Add(part.InstanceId);
        }

        foreach (string part in parts)
        {
            await durable.PurgeInstanceAsync(part, cancellation: cancellationToken).ConfigureAwait(false);
        }

        await durable.PurgeInstanceAsync(HookNames.InstanceIdOf(batchId), cancellation: cancellationToken).ConfigureAwait(false);
        await store.DeleteBatchAsync(batchId, cancellationToken).ConfigureAwait(false);
        await signals.ForgetAsync(batchId, cancellationToken).ConfigureAwait(false);
        await durable.PurgeInstanceAsync(batchId, cancellation: cancellationToken).ConfigureAwait(false);
    }
}
