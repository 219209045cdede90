using Azure.Storage.Queues;
using DurableJobs.Api.Queue;

namespace DurableJobs.Functions;

/// <summary>
/// The batch queue's poison queue. The Functions runtime moves a message there itself only after repeated
/// failures, and without a reason; a message that can never become a batch is moved here at once, with it.
/// </summary>
internal sealed class PoisonQueue
{
    private readonly QueueClient queue;
    private volatile bool created;

    /// <summary>Creates the writer over <paramref name="queue"/>.</summary>
    public PoisonQueue(QueueClient queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        this.queue = queue;
    }

    /// <summary>The queue's name.</summary>
    public string Name => queue.Name;

    /// <summary>The queue's address (its account's queue endpoint and its name).</summary>
    public Uri Uri => queue.Uri;

    /// <summary>Adds <paramref name="message"/>.</summary>
    public async Task SendAsync(PoisonMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!created)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            created = true;
        }

        await queue.SendMessageAsync(message.ToJson(), cancellationToken).ConfigureAwait(false);
    }
}
