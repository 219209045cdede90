using DurableJobs.Client;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Queue;

/// <summary>
/// Queue intake, written once for both hosts (the embedded listener and the Functions queue trigger): what becomes of
/// one delivery of a batch message, and the poison envelope when it is set aside. A message that can never become a
/// batch, one delivered more than <c>maxDequeueCount</c> times, and one whose processing failed on its last allowed
/// delivery all go to the poison queue as a <see cref="PoisonMessage"/> with the reason; any other failure throws, so
/// the host leaves the message for redelivery. Moving the message is the host's: the listener copies it to the poison
/// queue and deletes it, Functions sends the envelope and completes the message.
/// </summary>
internal sealed class BatchQueueIntake
{
    /// <summary>The setting for <c>maxDequeueCount</c>, read by both hosts (Functions' host.json has its own: keep them equal).</summary>
    public const string MaxDequeueCountSetting = "DurableJobs:Queue:MaxDequeueCount";

    /// <summary>Deliveries a message may fail before it is poisoned: Functions' default.</summary>
    public const int DefaultMaxDequeueCount = 5;

    private readonly BatchQueueMessageProcessor processor;
    private readonly TimeProvider time;
    private readonly ILogger<BatchQueueIntake> logger;

    /// <summary>Creates the intake.</summary>
    public BatchQueueIntake(BatchQueueMessageProcessor processor, ILogger<BatchQueueIntake> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(processor);
        ArgumentNullException.ThrowIfNull(logger);
        this.processor = processor;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Handles one delivery: starts its batch (or finds it started), or sends the poison envelope through
    /// <paramref name="sendToPoison"/> and answers <see cref="QueueMessageDisposition.Poison"/>.
    /// </summary>
    /// <param name="delivery">The message and what the queue says about it.</param>
    /// <param name="client">Starts the batch.</param>
    /// <param name="maxDequeueCount">Deliveries a message may fail before it is poisoned.</param>
    /// <param name="sendToPoison">Puts an envelope in the poison queue.</param>
    /// <param name="cancellationToken">Stops the work; a stop is never a reason to poison.</param>
    /// <exception cref="Exception">Processing failed on a delivery before the last: leave the message for redelivery.</exception>
    public async Task<QueueMessageOutcome> HandleAsync(
        QueueDelivery delivery,
        BatchClient client,
        int maxDequeueCount,
        Func<PoisonMessage, CancellationToken, Task> sendToPoison,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(sendToPoison);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDequeueCount, 1);
        if (delivery.DequeueCount > maxDequeueCount)
        {
            // Delivered too often without being deleted (a crashing process, for instance): not processed again.
            return await PoisonAsync(
                delivery,
                $"The message was delivered {delivery.DequeueCount} times without being processed (maxDequeueCount {maxDequeueCount}).",
                null,
                sendToPoison,
                cancellationToken).ConfigureAwait(false);
        }

        QueueMessageOutcome outcome;
        try
        {
            outcome = await processor.ProcessAsync(delivery, client, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (delivery.DequeueCount >= maxDequeueCount && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            logger.LogError(ex, "Queue message {MessageId} failed on its last allowed delivery", delivery.MessageId);
            return await PoisonAsync(
                delivery,
                $"Processing failed {delivery.DequeueCount} times; last error: {ex.GetType().Name}: {ex.Message}",
                null,
                sendToPoison,
                cancellationToken).ConfigureAwait(false);
        }

        return outcome.Disposition == QueueMessageDisposition.Poison
            ? await PoisonAsync(delivery, outcome.Reason!, outcome.BatchId, sendToPoison, cancellationToken).ConfigureAwait(false)
            : outcome;
    }

    /// <summary>The envelope for <paramref name="delivery"/> set aside for <paramref name="reason"/>.</summary>
    public PoisonMessage Envelope(QueueDelivery delivery, string reason)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new PoisonMessage
        {
            Reason = reason,
            OriginalMessage = delivery.MessageText,
            MessageId = delivery.MessageId,
            DequeueCount = delivery.DequeueCount,
            FailedAt = time.GetUtcNow(),
        };
    }

    private async Task<QueueMessageOutcome> PoisonAsync(
        QueueDelivery delivery,
        string reason,
        string? batchId,
        Func<PoisonMessage, CancellationToken, Task> sendToPoison,
        CancellationToken cancellationToken)
    {
        await sendToPoison(Envelope(delivery, reason), cancellationToken).ConfigureAwait(false);
        logger.LogWarning("Queue message {MessageId} moved to the poison queue: {Reason}", delivery.MessageId, reason);
        return QueueMessageOutcome.Poison(reason, batchId);
    }
}
