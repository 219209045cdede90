using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using DurableJobs.Client;
using DurableJobs.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableJobs.Host.Web;

/// <summary>
/// The embedded host's counterpart of the Functions queue trigger: polls the batch queue, hands each message to the
/// shared <see cref="BatchQueueIntake"/> (the same validation, poison decisions and envelope as Functions), deletes it
/// once its batch exists, and moves it to the poison queue (copy, then delete) when the intake sets it aside. Polls back off while the queue is idle or storage fails, and the loop survives any exception (it stops only
/// with the host); a message being processed when the host stops simply reappears after its visibility timeout (its
/// batch id makes the retry harmless).
/// </summary>
internal sealed class BatchQueueListener : BackgroundService
{
    private readonly BatchQueueListenerOptions options;
    private readonly string queueName;
    private readonly StorageConnection storage;
    private readonly BatchQueueIntake intake;
    private readonly IServiceProvider services;
    private readonly ILogger<BatchQueueListener> logger;

    /// <summary>Creates the listener; nothing touches storage until the host starts it.</summary>
    public BatchQueueListener(
        IOptions<BatchQueueListenerOptions> options,
        Microsoft.Extensions.Configuration.IConfiguration configuration,
        StorageConnection storage,
        BatchQueueIntake intake,
        IServiceProvider services,
        ILogger<BatchQueueListener> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        this.options = options.Value;
        this.options.Validate();
        queueName = BatchQueueNames.From(configuration);
        this.storage = storage;
        this.intake = intake;
        this.services = services;
        this.logger = logger;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The storage connection was fixed when the container was built; the client is the engine's, started before this service.
        BatchClient client = services.GetRequiredService<BatchClient>();
        QueueServiceClient queues = storage.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        QueueClient queue = queues.GetQueueClient(queueName);
        QueueClient poison = queues.GetQueueClient(BatchQueueNames.PoisonOf(queueName));
        TimeSpan idleDelay = options.MinPollingInterval;
        bool ready = false;
        logger.LogInformation("Listening for batches on queue {Queue}", queueName);

        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] messages;
            try
            {
                if (!ready)
                {
                    await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                    await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                    ready = true;
                }

                messages = (await queue.ReceiveMessagesAsync(options.BatchSize, options.VisibilityTimeout, stoppingToken).ConfigureAwait(false)).Value;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Storage unreachable: poll again after the idle back-off rather than stop listening. Any exception,
                // not only RequestFailedException: past the SDK's own retries an outage surfaces as an
                // AggregateException, and a listener that let it escape stopped the whole host with it.
                logger.LogWarning(ex, "Could not poll queue {Queue}", queueName);
                messages = [];
            }

            if (messages.Length == 0)
            {
                if (!await DelayAsync(idleDelay, stoppingToken).ConfigureAwait(false))
                {
                    break;
                }

                idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, options.MaxPollingInterval.Ticks));
                continue;
            }

            idleDelay = options.MinPollingInterval;
            foreach (QueueMessage message in messages)
            {
                if (stoppingToken.IsCancellationRequested)
                {
                    break;
                }

                await HandleAsync(queue, poison, client, message, stoppingToken).ConfigureAwait(false);
            }
        }

        logger.LogInformation("Stopped listening on queue {Queue}", queueName);
    }

    private async Task HandleAsync(QueueClient queue, QueueClient poison, BatchClient client, QueueMessage message, CancellationToken stoppingToken)
    {
        try
        {
            var delivery = new QueueDelivery(message.MessageText, message.MessageId) { DequeueCount = message.DequeueCount, InsertedOn = message.InsertedOn };
            QueueMessageOutcome outcome = await intake.HandleAsync(
                delivery,
                client,
                options.MaxDequeueCount,
                // Copy first, then delete (below): a crash in between leaves a duplicate in the poison queue, never a lost message.
                (envelope, ct) => poison.SendMessageAsync(envelope.ToJson(), ct),
                stoppingToken).ConfigureAwait(false);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken).ConfigureAwait(false);
            if (outcome.Disposition == QueueMessageDisposition.Poison)
            {
                logger.LogWarning("Queue message {MessageId} moved to {Poison}", message.MessageId, poison.Name);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the message reappears after its visibility timeout.
        }
        catch (Exception ex)
        {
            // A failure before the last allowed delivery, or the poison queue itself failing: the message stays in the
            // queue and comes back after its visibility timeout (its batch id makes the retry harmless).
            logger.LogWarning(ex, "Queue message {MessageId} failed (delivery {Count} of {Max}); it will be retried", message.MessageId, message.DequeueCount, options.MaxDequeueCount);
        }
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
