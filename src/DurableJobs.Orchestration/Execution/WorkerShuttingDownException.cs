namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Thrown by a job activity when its host stops mid-chunk. Hosts translate it into "abandon the work item"
/// so the chunk is delivered again to a live worker instead of being recorded as failed.
/// </summary>
internal sealed class WorkerShuttingDownException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public WorkerShuttingDownException()
        : base("The worker is shutting down; the work will be delivered again.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public WorkerShuttingDownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public WorkerShuttingDownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
