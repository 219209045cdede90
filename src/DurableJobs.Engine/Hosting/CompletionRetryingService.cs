using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The Azure Storage orchestration service with three changes. First, finishing an activity work item (completing it, or
/// abandoning it) is retried until it succeeds or the worker stops. Durable Task tracks each work item it handed out
/// until one of those two calls succeeds, and refuses every later delivery of a message it still tracks ("being
/// processed multiple times concurrently"). When storage is down as a chunk finishes, both calls fail once and the
/// item is tracked for the rest of the process's life: its chunk never runs again and the batch hangs for good. Retried,
/// the call goes through once storage is back, and the chunk's next delivery runs (skipping the jobs already recorded).
/// The back-off stops at 5 s: each attempt already spends the SDK's own retries, and a longer wait only delays the
/// batch once storage answers.
/// <para>
/// Second, a running chunk's queue message is renewed every <paramref name="renewInterval"/> (a quarter of the
/// work-item visibility timeout), besides Durable Task's own renewal every 5 s. With the engine's 10 s visibility, which
/// brings a killed worker's chunks back within 10 s, Durable Task's cadence alone leaves 5 s of slack: a storage or
/// thread-pool stall longer than that on a loaded machine made the message visible while its chunk still ran, and
/// another worker ran the same jobs beside it (seen on Azurite at load 10 on 2 cores). Renewed every 2.5 s, a stall of
/// 7.5 s is absorbed. Renewals and the completion of one work item never overlap: each updates the message's pop
/// receipt, and a call made with a stale one fails.
/// </para>
/// <para>
/// Third, with <paramref name="ownership"/>, an orchestration episode is committed only if this worker owned its
/// partition when Durable Task handed out the work item (<see cref="PartitionOwnership"/>): one handed out for a
/// partition it is releasing or no longer owns is abandoned instead, its messages back to the queue, nothing sent.
/// </para>
/// Everything else is passed through.
/// </summary>
internal sealed class CompletionRetryingService(IOrchestrationService inner, CancellationToken stopping, ILogger logger, TimeSpan renewInterval, TimeProvider? time = null, PartitionOwnership? ownership = null) : IOrchestrationService
{
    /// <summary>The clock of the back-off between attempts (tests pass a fake one).</summary>
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>The partition-ownership reads of the orchestration work items this process runs, by instance (one session each).</summary>
    private readonly ConcurrentDictionary<string, Task<bool>> ownershipChecks = new(StringComparer.Ordinal);

    /// <summary>The activity work items this process runs, by message id, with their renewal loops.</summary>
    private readonly ConcurrentDictionary<string, Renewal> renewals = new(StringComparer.Ordinal);

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    public int MaxConcurrentTaskOrchestrationWorkItems => inner.MaxConcurrentTaskOrchestrationWorkItems;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    public int MaxConcurrentTaskActivityWorkItems => inner.MaxConcurrentTaskActivityWorkItems;

    public Task StartAsync() => inner.StartAsync();

    public Task StopAsync() => inner.StopAsync();

    public Task StopAsync(bool isForced) => inner.StopAsync(isForced);

    public Task CreateAsync() => inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) => inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        TaskOrchestrationWorkItem workItem = await inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false);
        if (workItem is not null && ownership is not null)
        {
            // Read beside the episode's replay rather than before it: the answer is needed only before the episode's
            // messages go out (as a check before the replay it cost every episode a storage round trip on its path).
            ownershipChecks[workItem.InstanceId] = ownership.MayRunAsync(workItem.InstanceId, cancellationToken);
        }

        return workItem!;
    }

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public async Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        if (ownershipChecks.TryRemove(workItem.InstanceId, out Task<bool>? mayRun) && !await mayRun.ConfigureAwait(false))
        {
            // Not this worker's partition (any more). Durable Task's own answer to an episode it must not commit: the
            // dispatcher abandons the work item, its messages go back to the queue for the owner, and nothing the
            // episode decided is sent.
            logger.LogInformation("Orchestration {InstanceId}: its partition is not this worker's (released, being taken over or lapsed); the episode is dropped and its {Count} messages go back to the queue", workItem.InstanceId, workItem.NewMessages?.Count ?? 0);
            throw new SessionAbortedException($"Orchestration {workItem.InstanceId}: this worker does not own its partition; its messages go back to the queue for the owner.");
        }

        await inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState).ConfigureAwait(false);
    }

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        // An episode that never reached its completion (nothing to run, or it failed) leaves its read here.
        ownershipChecks.TryRemove(workItem.InstanceId, out _);
        return inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);
    }

    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        TaskActivityWorkItem workItem = await inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken).ConfigureAwait(false);
        if (workItem is not null && renewInterval > TimeSpan.Zero)
        {
            var renewal = new Renewal();
            if (renewals.TryAdd(workItem.Id, renewal))
            {
                renewal.Loop = RenewLoopAsync(workItem, renewal);
            }
        }

        return workItem!;
    }

    public async Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
    {
        if (!renewals.TryGetValue(workItem.Id, out Renewal? renewal))
        {
            return await inner.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false);
        }

        await renewal.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await inner.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false);
        }
        finally
        {
            renewal.Gate.Release();
        }
    }

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        FinishAsync(workItem, () => UntilDoneAsync(() => inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage), "complete", workItem));

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) =>
        FinishAsync(workItem, () => UntilDoneAsync(() => inner.AbandonTaskActivityWorkItemAsync(workItem), "abandon", workItem));

    /// <summary>Stops the work item's renewals, waits for one in flight, then completes or abandons it.</summary>
    private async Task FinishAsync(TaskActivityWorkItem workItem, Func<Task> finish)
    {
        if (!renewals.TryRemove(workItem.Id, out Renewal? renewal))
        {
            await finish().ConfigureAwait(false);
            return;
        }

        await renewal.Stop.CancelAsync().ConfigureAwait(false);
        await (renewal.Loop ?? Task.CompletedTask).ConfigureAwait(false);
        await renewal.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await finish().ConfigureAwait(false);
        }
        finally
        {
            renewal.Gate.Release();
            renewal.Dispose();
        }
    }

    private async Task RenewLoopAsync(TaskActivityWorkItem workItem, Renewal renewal)
    {
        // Off the dispatcher's path: the loop's first await yields before any work.
        await Task.Yield();
        try
        {
            while (true)
            {
                await Task.Delay(renewInterval, renewal.Stop.Token).ConfigureAwait(false);
                await renewal.Gate.WaitAsync(renewal.Stop.Token).ConfigureAwait(false);
                try
                {
                    await inner.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The next round tries again; Durable Task's own renewal also still runs.
                    logger.LogDebug(ex, "Could not renew work item {WorkItem}", workItem.Id);
                }
                finally
                {
                    renewal.Gate.Release();
                }

                if (workItem.LockedUntilUtc <= DateTime.UtcNow)
                {
                    // The service no longer tracks the item (it marks it expired): nothing left to renew.
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (renewal.Stop.IsCancellationRequested)
        {
            // Completed or abandoned.
        }
    }

    private async Task UntilDoneAsync(Func<Task> call, string what, TaskActivityWorkItem workItem)
    {
        TimeSpan delay = FirstDelay;
        for (int failures = 0; ; failures++)
        {
            try
            {
                await call().ConfigureAwait(false);
                if (failures > 0)
                {
                    logger.LogInformation("Could {What} work item {WorkItem} after {Failures} failed attempts", what, workItem.Id, failures);
                }

                return;
            }
            catch (Exception ex) when (LostToARedelivery(ex))
            {
                // The message's lock is gone and it was delivered again (its pop receipt no longer matches, or the new
                // delivery already deleted it): no retry of this call can ever succeed, and retrying would hold one of
                // the worker's activity slots forever (a 2-minute storage outage left ten of them retrying at attempt 48
                // and the batch stalled). The redelivery runs the chunk again; jobs already recorded are not re-run.
                logger.LogInformation("Work item {WorkItem} was delivered again while it could not {What}; its redelivery completes it", workItem.Id, what);
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                // A stopping worker gives up (the exception reaches Durable Task): its tracking ends with the process,
                // and the message returns to the queue after its visibility timeout.
                logger.Log(failures == 0 ? LogLevel.Warning : LogLevel.Debug, ex, "Could not {What} work item {WorkItem} (attempt {Attempt}); retrying in {Delay}", what, workItem.Id, failures + 1, delay);
            }

            try
            {
                await Task.Delay(delay, clock, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await call().ConfigureAwait(false);
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
        }
    }

    /// <summary>True when <paramref name="ex"/> says the queue message now belongs to a later delivery (or is gone).</summary>
    internal static bool LostToARedelivery(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is Azure.RequestFailedException { ErrorCode: "PopReceiptMismatch" or "MessageNotFound" })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One running work item's renewal loop, and the gate that keeps its storage calls one at a time.</summary>
    private sealed class Renewal : IDisposable
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public CancellationTokenSource Stop { get; } = new();

        public Task? Loop { get; set; }

        /// <remarks>
        /// The gate is left to the collector: a renewal Durable Task started just before the item finished may still be
        /// waiting on it, and a disposed semaphore would throw there. It never allocates a wait handle.
        /// </remarks>
        public void Dispose() => Stop.Dispose();
    }
}
