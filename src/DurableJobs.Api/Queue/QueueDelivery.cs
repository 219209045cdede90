namespace DurableJobs.Api.Queue;

/// <summary>One delivery of a batch queue message, as the embedded listener or the Functions trigger received it.</summary>
/// <param name="MessageText">The message text as the queue holds it.</param>
/// <param name="MessageId">The queue message id: the batch id is derived from it when the message names none.</param>
internal sealed record QueueDelivery(string MessageText, string MessageId)
{
    /// <summary>How many times the queue has delivered the message, this delivery included (0 when unknown).</summary>
    public long DequeueCount { get; init; }

    /// <summary>When the message was put in the queue, for the queue lag metric; null when unknown.</summary>
    public DateTimeOffset? InsertedOn { get; init; }
}
