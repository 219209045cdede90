namespace DurableJobs.Client.Hooks;

/// <summary>Puts a completion message on a storage queue (the host's account; implemented over Azure Storage Queues).</summary>
internal interface IHookQueue
{
    /// <summary>Puts <paramref name="message"/> on queue <paramref name="queueName"/>, creating the queue when missing.</summary>
    Task SendAsync(string queueName, string message, CancellationToken cancellationToken);
}
