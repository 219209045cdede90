using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// Queue-triggered batch runs under Azure Functions, through the shared <see cref="BatchQueueIntake"/> (the same
/// validation, poison decisions and envelope as the embedded listener). host.json sets <c>messageEncoding: none</c> so
/// the intake sees the text as sent and accepts plain JSON and base64 alike. A message that can never become a batch,
/// or whose processing fails on its last allowed delivery (<c>DurableJobs:Queue:MaxDequeueCount</c>, equal to host.json's
/// <c>maxDequeueCount</c>), goes to the poison queue with the reason and completes; an earlier failure throws, so
/// Functions retries it.
/// </summary>
public sealed class BatchQueueFunction
{
    private readonly BatchQueueIntake intake;
    private readonly BatchClientFactory clients;
    private readonly PoisonQueue poison;
    private readonly int maxDequeueCount;

    /// <summary>
    /// Creates the function from the app's container (Functions activates it with a public constructor; the
    /// services it uses are internal, so they are taken from the container rather than named here).
    /// </summary>
    public BatchQueueFunction(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        intake = services.GetRequiredService<BatchQueueIntake>();
        clients = services.GetRequiredService<BatchClientFactory>();
        poison = services.GetRequiredService<PoisonQueue>();
        maxDequeueCount = services.GetService<IConfiguration>()?.GetValue(BatchQueueIntake.MaxDequeueCountSetting, BatchQueueIntake.DefaultMaxDequeueCount)
            ?? BatchQueueIntake.DefaultMaxDequeueCount;
    }

    /// <summary>Starts the batch a message describes.</summary>
    [Function("BatchQueueTrigger")]
    public Task Run(
        [QueueTrigger("%DurableJobs:BatchQueueName%", Connection = "AzureWebJobsStorage")] QueueMessage message,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        HandleAsync(message, durable, cancellationToken);

    /// <summary><see cref="Run"/>, with what became of the message (for tests).</summary>
    internal Task<QueueMessageOutcome> HandleAsync(QueueMessage message, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var delivery = new QueueDelivery(message.MessageText, message.MessageId) { DequeueCount = message.DequeueCount, InsertedOn = message.InsertedOn };
        return intake.HandleAsync(delivery, clients.Create(durable), maxDequeueCount, poison.SendAsync, cancellationToken);
    }
}
