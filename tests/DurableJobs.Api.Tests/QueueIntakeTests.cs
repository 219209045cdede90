using DurableJobs.Api.Queue;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Api.Tests;

/// <summary>
/// The queue intake both hosts share (the embedded listener and the Functions trigger), without storage: which
/// deliveries are poisoned, with which reason and envelope, and which are left for redelivery. The durable client is
/// a fake that either knows the batch (so a valid message finds it started) or fails like an unreachable account.
/// The real queues are exercised by <see cref="QueueTests"/> and <see cref="FunctionsWrapperTests"/>.
/// </summary>
public sealed class QueueIntakeTests
{
    private const int MaxDequeueCount = 5;
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 18, 30, 0, TimeSpan.Zero);
    private readonly List<PoisonMessage> poisoned = [];
    private readonly BatchQueueIntake intake = new(
        new BatchQueueMessageProcessor(NullLogger<BatchQueueMessageProcessor>.Instance),
        NullLogger<BatchQueueIntake>.Instance,
        new FixedTime(Now));

    [Fact]
    public async Task A_message_that_is_not_a_batch_is_poisoned_once_with_the_reason_and_the_original_text()
    {
        QueueMessageOutcome outcome = await HandleAsync(new QueueDelivery("<<not a batch>>", "m-1") { DequeueCount = 1 }, Durable.Knowing());

        Assert.Equal(QueueMessageDisposition.Poison, outcome.Disposition);
        PoisonMessage envelope = Assert.Single(poisoned);
        Assert.Equal("The message is neither JSON nor base64-encoded JSON.", envelope.Reason);
        Assert.Equal(outcome.Reason, envelope.Reason);
        Assert.Equal(("<<not a batch>>", "m-1", 1L, Now), (envelope.OriginalMessage, envelope.MessageId, envelope.DequeueCount, envelope.FailedAt));
    }

    [Fact]
    public async Task An_invalid_request_is_poisoned_with_the_field_named()
    {
        QueueMessageOutcome outcome = await HandleAsync(new QueueDelivery("""{"jobs":[{"type":"no-such-type"}]}""", "m-2") { DequeueCount = 1 }, Durable.Knowing());

        Assert.Equal(QueueMessageDisposition.Poison, outcome.Disposition);
        Assert.Contains("jobs[0].type", Assert.Single(poisoned).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_message_whose_batch_exists_is_not_poisoned()
    {
        QueueMessageOutcome outcome = await HandleAsync(new QueueDelivery("""{"batchId":"b-1","jobs":[{"type":"echo"}]}""", "m-3") { DequeueCount = 1 }, Durable.Knowing());

        Assert.Equal((QueueMessageDisposition.AlreadyExisted, "b-1"), (outcome.Disposition, outcome.BatchId));
        Assert.Empty(poisoned);
    }

    [Fact]
    public async Task A_message_delivered_more_than_max_dequeue_count_times_is_poisoned_without_being_processed()
    {
        var durable = Durable.Failing();
        QueueMessageOutcome outcome = await HandleAsync(new QueueDelivery("""{"jobs":[{"type":"echo"}]}""", "m-4") { DequeueCount = 6 }, durable);

        Assert.Equal(QueueMessageDisposition.Poison, outcome.Disposition);
        Assert.Equal("The message was delivered 6 times without being processed (maxDequeueCount 5).", Assert.Single(poisoned).Reason);
        Assert.Equal(0, durable.Calls);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task A_failure_before_the_last_allowed_delivery_throws_for_redelivery_and_poisons_nothing(int dequeueCount)
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            HandleAsync(new QueueDelivery("""{"jobs":[{"type":"echo"}]}""", "m-5") { DequeueCount = dequeueCount }, Durable.Failing()));

        Assert.Empty(poisoned);
    }

    [Fact]
    public async Task A_failure_on_the_last_allowed_delivery_is_poisoned_with_the_last_error()
    {
        QueueMessageOutcome outcome = await HandleAsync(new QueueDelivery("""{"jobs":[{"type":"echo"}]}""", "m-6") { DequeueCount = 5 }, Durable.Failing());

        Assert.Equal(QueueMessageDisposition.Poison, outcome.Disposition);
        PoisonMessage envelope = Assert.Single(poisoned);
        Assert.Equal("Processing failed 5 times; last error: InvalidOperationException: storage is unreachable", envelope.Reason);
        Assert.Equal(5, envelope.DequeueCount);
    }

    [Fact]
    public async Task A_stop_on_the_last_allowed_delivery_is_not_a_reason_to_poison()
    {
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            HandleAsync(new QueueDelivery("""{"jobs":[{"type":"echo"}]}""", "m-7") { DequeueCount = 5 }, Durable.Cancelled(), stop.Token));
        Assert.Empty(poisoned);
    }

    private Task<QueueMessageOutcome> HandleAsync(QueueDelivery delivery, Durable durable, CancellationToken cancellationToken = default)
    {
        var registry = new JobHandlerRegistry();
        registry.AddBuiltIns();
        var limits = new BatchLimits();
        var client = new BatchClient(durable, new InMemoryBatchCancellationSignals(), UnusedStore.Create(), new BatchValidator(limits, registry), limits, new BatchClientOptions());
        return intake.HandleAsync(
            delivery,
            client,
            MaxDequeueCount,
            (envelope, _) =>
            {
                poisoned.Add(envelope);
                return Task.CompletedTask;
            },
            cancellationToken);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>A durable client that answers "the batch exists", or fails every call.</summary>
    private sealed class Durable : DurableTaskClient
    {
        private readonly Func<string, CancellationToken, OrchestrationMetadata?> instance;

        private Durable(Func<string, CancellationToken, OrchestrationMetadata?> instance)
            : base("fake")
        {
            this.instance = instance;
        }

        public int Calls { get; private set; }

        public static Durable Knowing() => new((id, _) => new OrchestrationMetadata("BatchOrchestrator", id));

        public static Durable Failing() => new((_, _) => throw new InvalidOperationException("storage is unreachable"));

        public static Durable Cancelled() => new((_, ct) =>
        {
            ct.ThrowIfCancellationRequested();
            throw new InvalidOperationException("expected a stopped token");
        });

        public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
        {
            Calls++;
            return Task.FromResult(instance(instanceId, cancellation));
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

        public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) => throw Unexpected();

        public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) => throw Unexpected();

        public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw Unexpected();

        public override Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) => throw Unexpected();

        public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => throw Unexpected();

        public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) => throw Unexpected();

        public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) => throw Unexpected();

        private static NotSupportedException Unexpected() => new("The intake tests do not start batches.");
    }

    /// <summary>The store is not reached in these tests: the durable client answers (or fails) first.</summary>
    public class UnusedStore : System.Reflection.DispatchProxy
    {
        internal static IBatchStore Create() => Create<IBatchStore, UnusedStore>();

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
            throw new NotSupportedException($"The intake tests do not reach the store ({targetMethod?.Name}).");
    }
}
