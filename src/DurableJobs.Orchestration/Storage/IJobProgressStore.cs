using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Storage;

/// <summary>
/// What running jobs report (progress, heartbeats, checkpoints), one row per job that ran long enough to report, kept
/// beside the batch's results. Progress is written coalesced (see <c>JobProgressTracker</c>); checkpoints at once.
/// </summary>
internal interface IJobProgressStore
{
    /// <summary>Writes the latest state of several jobs of one batch, batched (one transaction per 100 jobs).</summary>
    Task WriteAsync(string batchId, IReadOnlyList<JobProgressRow> rows, CancellationToken cancellationToken = default);

    /// <summary>Stores a job's checkpoint (replacing its previous one); durable when the task completes.</summary>
    Task SaveCheckpointAsync(string batchId, int index, string checkpointJson, CancellationToken cancellationToken = default);

    /// <summary>The rows of jobs <paramref name="start"/>.. that have not finished, by job index: each one's checkpoint or null.</summary>
    Task<IReadOnlyDictionary<int, string?>> ReadCheckpointsAsync(string batchId, int start, int count, CancellationToken cancellationToken = default);

    /// <summary>The jobs of the batch a worker last reported as running, in submission order.</summary>
    Task<IReadOnlyList<JobResult>> ReadRunningAsync(string batchId, CancellationToken cancellationToken = default);
}

/// <summary>One job's reported state as written: running with its last report, or finished (its checkpoint dropped).</summary>
internal sealed record JobProgressRow(int Index, string JobId, string Type, bool Finished)
{
    public int Attempt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public double? Value { get; init; }

    public string? Message { get; init; }

    public DateTimeOffset? ReportedAt { get; init; }

    public string? Worker { get; init; }
}
