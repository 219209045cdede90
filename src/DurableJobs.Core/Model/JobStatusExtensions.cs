namespace DurableJobs.Core.Model;

/// <summary>Helpers over <see cref="JobStatus"/>.</summary>
public static class JobStatusExtensions
{
    /// <summary>True for a status that never changes again.</summary>
    public static bool IsFinal(this JobStatus status) =>
        status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.TimedOut or JobStatus.Cancelled;
}
