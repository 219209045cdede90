using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// Queue-triggered batch runs under Azure Functions, through the shared <see cref="BatchQueueMessageProcessor"/>.
/// host.json sets <c>messageEncoding: none</c> so the processor sees the text as sent and accepts plain JSON and
/// base64 alike. A message that can never become a batch goes to the poison queue with the reason and completes;
/// a failure throws, so Functions retries it and, after <c>maxDequeueCount</c>, poisons it itself.
/// </summary>
public sealed class BatchQueueFunction
{
    private readonly BatchQueueMessageProcessor processor;
    private readonly BatchClientFactory clients;
    private readonly PoisonQueue poison;
    private readonly TimeProvider time;

    /// <summary>Creates the function.</summary>
    public BatchQueueFunction(BatchQueueMessageProcessor processor, BatchClientFactory clients, PoisonQueue poison, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(processor);
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(poison);
        ArgumentNullException.ThrowIfNull(time);
        this.processor = processor;
        this.clients = clients;
        this.poison = poison;
        this.time = time;
    }

    /// <summary>Starts the batch a message describes.</summary>
    [Function("BatchQueueTrigger")]
    public async Task<QueueMessageOutcome> Run(
        [QueueTrigger("%DurableJobs:BatchQueueName%", Connection = "AzureWebJobsStorage")] QueueMessage message,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var delivery = new QueueDelivery(message.MessageText, message.MessageId) { DequeueCount = message.DequeueCount, InsertedOn = message.InsertedOn };
        QueueMessageOutcome outcome = await processor.ProcessAsync(delivery, clients.Create(durable), cancellationToken).ConfigureAwait(false);
        if (outcome.Disposition == QueueMessageDisposition.Poison)
        {
            await poison.SendAsync(
                new PoisonMessage
                {
                    Reason = outcome.Reason!,
                    OriginalMessage = message.MessageText,
                    MessageId = message.MessageId,
                    DequeueCount = message.DequeueCount,
                    FailedAt = time.GetUtcNow(),
                },
                cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }
}
