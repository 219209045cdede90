using System.Collections.Concurrent;
using Azure.Storage.Queues;
using DurableJobs.Client.Hooks;
using DurableJobs.Engine.Hosting;

namespace DurableJobs.Engine.Hooks;

/// <summary>
/// Completion messages on queues of the host's storage account, as plain JSON text (no base64: an Azure Functions queue
/// trigger reading them needs <c>"messageEncoding": "none"</c>). A queue is created on its first message.
/// </summary>
internal sealed class StorageHookQueue : IHookQueue
{
    private readonly StorageConnection storage;
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> queues = new(StringComparer.Ordinal);

    /// <summary>Creates the sender.</summary>
    public StorageHookQueue(StorageConnection storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        this.storage = storage;
    }

    /// <inheritdoc />
    public async Task SendAsync(string queueName, string message, CancellationToken cancellationToken)
    {
        Lazy<Task<QueueClient>> lazy = queues.GetOrAdd(queueName, name => new Lazy<Task<QueueClient>>(() => CreateAsync(name)));
        QueueClient queue;
        try
        {
            queue = await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failed creation is tried again on the next message.
            queues.TryRemove(new KeyValuePair<string, Lazy<Task<QueueClient>>>(queueName, lazy));
            throw;
        }

        await queue.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
    }

    private async Task<QueueClient> CreateAsync(string name)
    {
        QueueClient queue = storage.CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None }).GetQueueClient(name);
        await queue.CreateIfNotExistsAsync().ConfigureAwait(false);
        return queue;
    }
}
