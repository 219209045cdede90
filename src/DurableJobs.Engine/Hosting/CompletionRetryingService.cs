using DurableTask.Core;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The Azure Storage orchestration service with one change: finishing an activity work item (completing it, or
/// abandoning it) is retried until it succeeds or the worker stops. Durable Task tracks each work item it handed out
/// until one of those two calls succeeds, and refuses every later delivery of a message it still tracks ("being
/// processed multiple times concurrently"). When storage is down as a chunk finishes, both calls fail once and the
/// item is tracked for the rest of the process's life: its chunk never runs again and the batch hangs for good. Retried,
/// the call goes through once storage is back, and the chunk's next delivery runs (skipping the jobs already recorded).
/// The back-off stops at 5 s: each attempt already spends the SDK's own retries, and a longer wait only delays the
/// batch once storage answers. Everything else is passed through.
/// </summary>
internal sealed class CompletionRetryingService(IOrchestrationService inner, CancellationToken stopping, ILogger logger) : IOrchestrationService
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

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

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState) =>
        inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);

    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        UntilDoneAsync(() => inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage), "complete", workItem);

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) =>
        UntilDoneAsync(() => inner.AbandonTaskActivityWorkItemAsync(workItem), "abandon", workItem);

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
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                // A stopping worker gives up (the exception reaches Durable Task): its tracking ends with the process,
                // and the message returns to the queue after its visibility timeout.
                logger.Log(failures == 0 ? LogLevel.Warning : LogLevel.Debug, ex, "Could not {What} work item {WorkItem} (attempt {Attempt}); retrying in {Delay}", what, workItem.Id, failures + 1, delay);
            }

            try
            {
                await Task.Delay(delay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await call().ConfigureAwait(false);
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
        }
    }
}
