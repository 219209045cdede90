namespace DurableJobs.Api.Queue;

/// <summary>What to do with a processed queue message.</summary>
internal enum QueueMessageDisposition
{
    /// <summary>A new batch started: delete the message.</summary>
    Started,

    /// <summary>The batch id already named a batch (a redelivery or a duplicate): delete the message.</summary>
    AlreadyExisted,

    /// <summary>The message can never become a batch: move it to the poison queue with the reason.</summary>
    Poison,
}
