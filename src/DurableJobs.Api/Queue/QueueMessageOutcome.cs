namespace DurableJobs.Api.Queue;

/// <summary>The decision about one queue message.</summary>
/// <param name="Disposition">What to do with it.</param>
/// <param name="BatchId">The batch it names (absent when poisoned before an id was known).</param>
/// <param name="Reason">Why it is poison; null otherwise.</param>
internal sealed record QueueMessageOutcome(QueueMessageDisposition Disposition, string? BatchId, string? Reason)
{
    /// <summary>A poison decision.</summary>
    public static QueueMessageOutcome Poison(string reason, string? batchId = null) => new(QueueMessageDisposition.Poison, batchId, reason);
}
