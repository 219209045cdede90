namespace DurableJobs.Core.Handlers;

/// <summary>What a handler knows about the job it runs.</summary>
/// <param name="BatchId">The batch.</param>
/// <param name="JobId">The job, unique within its batch.</param>
/// <param name="Attempt">This attempt, starting at 1.</param>
public sealed record JobContext(string BatchId, string JobId, int Attempt)
{
    /// <summary>
    /// A key that stays the same across attempts and redeliveries of this job; pass it to the systems a
    /// handler calls so that a job run twice (at-least-once execution) has its effect once.
    /// </summary>
    public string IdempotencyKey => $"{BatchId}/{JobId}";
}
