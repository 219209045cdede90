using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// Creates the function from the app's container (Functions activates it with a public constructor; the
    /// services it uses are internal, so they are taken from the container rather than named here).
    /// </summary>
    public BatchQueueFunction(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        processor = services.GetRequiredService<BatchQueueMessageProcessor>();
        clients = services.GetRequiredService<BatchClientFactory>();
        poison = services.GetRequiredService<PoisonQueue>();
        time = services.GetService<TimeProvider>() ?? TimeProvider.System;
    }

    /// <summary>Starts the batch a message describes.</summary>
    [Function("BatchQueueTrigger")]
    public Task Run(
        [QueueTrigger("%DurableJobs:BatchQueueName%", Connection = "AzureWebJobsStorage")] QueueMessage message,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        HandleAsync(message, durable, cancellationToken);

    /// <summary><see cref="Run"/>, with what became of the message (for tests).</summary>
    internal async Task<QueueMessageOutcome> HandleAsync(QueueMessage message, DurableTaskClient durable, CancellationToken cancellationToken)
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
