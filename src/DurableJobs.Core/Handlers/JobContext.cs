using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>What a handler knows about the job it runs, and how it reports on it while it runs.</summary>
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

    /// <summary>
    /// The last checkpoint an earlier attempt of this job saved with <see cref="SaveCheckpointAsync"/> (a retry, or a
    /// redelivery after the worker running it died), or null on a job's first attempt: resume from it.
    /// </summary>
    public JsonElement? Checkpoint { get; internal init; }

    /// <summary>Where reports go; absent outside a worker (a handler run alone), where they are checked and dropped.</summary>
    internal IJobAttemptReporter? Reporter { get; init; }

    /// <summary>
    /// Reports how far the job is (any number, a percentage say, and a short message), shown by
    /// <c>GET /api/batches/{id}/jobs?status=Running</c>. Cheap to call often: reports are kept in memory and written at
    /// most once a second per job. Counts as a heartbeat for <c>jobTimeoutSeconds</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is not a finite number.</exception>
    /// <exception cref="ArgumentException"><paramref name="message"/> is longer than 500 characters; nothing is stored.</exception>
    public void ReportProgress(double value, string? message = null)
    {
        JobReportLimits.CheckProgress(value, message);
        Reporter?.ReportProgress(value, message);
    }

    /// <summary>Tells the worker the job is alive (for <c>jobTimeoutSeconds</c>) without reporting progress; stores nothing.</summary>
    public void Heartbeat() => Reporter?.Heartbeat();

    /// <summary>
    /// Saves a small JSON checkpoint that a later attempt of this job receives as <see cref="Checkpoint"/>; durable
    /// (written to storage) when the returned task completes. Replaces the previous one. Counts as a heartbeat.
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint takes more than 32,768 characters as stored JSON; nothing is stored.</exception>
    public ValueTask SaveCheckpointAsync(JsonElement checkpoint, CancellationToken cancellationToken = default)
    {
        string json = JobReportLimits.CheckCheckpoint(checkpoint);
        return Reporter?.SaveCheckpointAsync(json, checkpoint, cancellationToken) ?? ValueTask.CompletedTask;
    }
}
