using System.Reflection;
using DurableJobs.Engine.Hosting;
using DurableJobs.Testing;
using DurableTask.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Engine.Tests;

public sealed class CompletionRetryingServiceTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_running_work_item_is_renewed_by_the_service_on_its_own_never_beside_another_call_for_it_and_not_after_it_completed()
    {
        RecordingService inner = RecordingService.Create();
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.FromMilliseconds(50));

        TaskActivityWorkItem item = await service.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);

        // Durable Task's own renewals (every 5 s in its dispatcher) come through the same service meanwhile.
        for (int i = 0; i < 5; i++)
        {
            await Task.Delay(60);
            await service.RenewTaskActivityWorkItemLockAsync(item);
        }

        // Besides those 5, the service's own loop renews (not counted on a timer: a loaded machine delays it).
        await Until(() => inner.Renewals >= 5 + 3);
        await service.CompleteTaskActivityWorkItemAsync(item, new TaskMessage());
        int renewalsAtCompletion = inner.Renewals;
        await Task.Delay(300);

        Assert.Equal(renewalsAtCompletion, inner.Renewals);
        Assert.Equal(1, inner.MaxConcurrentCalls);
        Assert.Equal(1, inner.Completions);
    }

    [Fact]
    public async Task An_abandoned_work_item_is_no_longer_renewed()
    {
        RecordingService inner = RecordingService.Create();
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.FromMilliseconds(30));

        TaskActivityWorkItem item = await service.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);
        await Until(() => inner.Renewals >= 2);
        await service.AbandonTaskActivityWorkItemAsync(item);
        int renewals = inner.Renewals;
        await Task.Delay(200);

        Assert.Equal(renewals, inner.Renewals);
    }

    [Fact]
    public void A_completion_whose_message_was_delivered_again_is_not_retried_a_storage_outage_is()
    {
        // As Durable Task wraps it: the queue's answer to a delete with a stale pop receipt, after the message's lock lapsed.
        var stale = new InvalidOperationException("An error occurred while communicating with Azure Storage",
            new Azure.RequestFailedException(400, "The specified pop receipt did not match the pop receipt for a dequeued message.", "PopReceiptMismatch", null));
        var gone = new Azure.RequestFailedException(404, "The specified message does not exist.", "MessageNotFound", null);
        var outage = new InvalidOperationException("An error occurred while communicating with Azure Storage", new HttpRequestException("Connection refused"));

        Assert.True(CompletionRetryingService.LostToARedelivery(stale));
        Assert.True(CompletionRetryingService.LostToARedelivery(gone));
        Assert.False(CompletionRetryingService.LostToARedelivery(outage));
        Assert.False(CompletionRetryingService.LostToARedelivery(new Azure.RequestFailedException(503, "Server busy", "ServerBusy", null)));
    }

    [Fact]
    public async Task A_completion_failing_in_a_storage_outage_is_tried_again_after_1_2_and_4_s_until_it_succeeds()
    {
        RecordingService inner = RecordingService.Create();
        inner.FinishFailures.Enqueue(Outage());
        inner.FinishFailures.Enqueue(Outage());
        inner.FinishFailures.Enqueue(Outage());
        var time = new ScheduleClock(Start);
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.Zero, time);
        TaskActivityWorkItem item = await service.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);

        Task completing = service.CompleteTaskActivityWorkItemAsync(item, new TaskMessage());
        foreach ((int calls, int waitSeconds) in new[] { (1, 1), (2, 2), (3, 4) })
        {
            // The failed call is counted before the service catches it and arms its back-off: wait for the back-off.
            await Until(() => inner.FinishCalls == calls);
            await time.WaitForTimerAtAsync(time.GetUtcNow() + TimeSpan.FromSeconds(waitSeconds));
            time.Advance(TimeSpan.FromSeconds(waitSeconds) - TimeSpan.FromMilliseconds(1));
            await Task.Delay(50);
            Assert.Equal(calls, inner.FinishCalls);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        await completing.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, inner.FinishCalls);
        Assert.Equal(1, inner.Completions);
    }

    [Fact]
    public async Task A_completion_whose_message_was_delivered_again_returns_after_its_one_call_and_frees_its_slot()
    {
        RecordingService inner = RecordingService.Create();
        inner.FinishFailures.Enqueue(new InvalidOperationException("An error occurred while communicating with Azure Storage",
            new Azure.RequestFailedException(400, "The specified pop receipt did not match the pop receipt for a dequeued message.", "PopReceiptMismatch", null)));
        var time = new FakeTimeProvider();
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.Zero, time);
        TaskActivityWorkItem item = await service.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);

        // Returns without the clock moving: no back-off, no second call.
        await service.CompleteTaskActivityWorkItemAsync(item, new TaskMessage()).WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMinutes(1));
        await Task.Delay(50);

        Assert.Equal(1, inner.FinishCalls);
        Assert.Equal(0, inner.Completions);
    }

    [Fact]
    public async Task A_worker_stopping_during_the_back_off_makes_one_last_call_and_lets_its_failure_through()
    {
        RecordingService inner = RecordingService.Create();
        inner.FinishFailures.Enqueue(Outage());
        inner.FinishFailures.Enqueue(Outage());
        var time = new ScheduleClock(Start);
        using var stopping = new CancellationTokenSource();
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, stopping.Token, NullLogger.Instance, TimeSpan.Zero, time);
        TaskActivityWorkItem item = await service.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);

        Task abandoning = service.AbandonTaskActivityWorkItemAsync(item);
        // During the back-off, not between the failed call and the service's decision to retry it.
        await Until(() => inner.FinishCalls == 1);
        await time.WaitForTimerAtAsync(Start.AddSeconds(1));
        await stopping.CancelAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => abandoning.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, inner.FinishCalls);
    }

    private static InvalidOperationException Outage() =>
        new("An error occurred while communicating with Azure Storage", new HttpRequestException("Connection refused"));

    /// <summary>Waits for <paramref name="condition"/>, failing after 10 s.</summary>
    private static Task Until(Func<bool> condition) =>
        Eventually.MatchAsync(() => Task.FromResult(condition()), met => met, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(10));

    /// <summary>
    /// The inner service, as far as activity work items go: hands out one, renews it (each call takes 10 ms, so calls
    /// that overlap are seen), completes or abandons it. Anything else is not expected here.
    /// </summary>
    public class RecordingService : DispatchProxy
    {
        private int inCall;
        private int maxConcurrentCalls;
        private int renewals;
        private int completions;
        private int finishCalls;

        /// <summary>Thrown by the next complete or abandon calls, one each, before any succeeds.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<Exception> FinishFailures { get; } = new();

        /// <summary>Complete and abandon calls made, failed ones included.</summary>
        public int FinishCalls => Volatile.Read(ref finishCalls);

        public int Renewals => Volatile.Read(ref renewals);

        public int Completions => Volatile.Read(ref completions);

        public int MaxConcurrentCalls => Volatile.Read(ref maxConcurrentCalls);

        public static RecordingService Create() => (RecordingService)(object)Create<IOrchestrationService, RecordingService>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IOrchestrationService.LockNextTaskActivityWorkItem) => Task.FromResult(new TaskActivityWorkItem { Id = "message-1", LockedUntilUtc = DateTime.UtcNow.AddSeconds(10) }),
            nameof(IOrchestrationService.RenewTaskActivityWorkItemLockAsync) => RenewAsync((TaskActivityWorkItem)args![0]!),
            nameof(IOrchestrationService.CompleteTaskActivityWorkItemAsync) or nameof(IOrchestrationService.AbandonTaskActivityWorkItemAsync) => FinishAsync(),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };

        private async Task<TaskActivityWorkItem> RenewAsync(TaskActivityWorkItem item)
        {
            await CallAsync();
            Interlocked.Increment(ref renewals);
            item.LockedUntilUtc = DateTime.UtcNow.AddSeconds(10);
            return item;
        }

        private async Task FinishAsync()
        {
            await CallAsync();
            Interlocked.Increment(ref finishCalls);
            if (FinishFailures.TryDequeue(out Exception? failure))
            {
                throw failure;
            }

            Interlocked.Increment(ref completions);
        }

        private async Task CallAsync()
        {
            int now = Interlocked.Increment(ref inCall);
            int seen;
            while (now > (seen = Volatile.Read(ref maxConcurrentCalls)) && Interlocked.CompareExchange(ref maxConcurrentCalls, now, seen) != seen)
            {
                // Raced another call raising the maximum: read it again.
            }

            await Task.Delay(10);
            Interlocked.Decrement(ref inCall);
        }
    }
}
