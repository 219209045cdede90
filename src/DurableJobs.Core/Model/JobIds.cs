namespace DurableJobs.Core.Model;

/// <summary>How a job without an explicit id is named.</summary>
public static class JobIds
{
    /// <summary>The job's own id, or its zero-based index in the batch when it has none.</summary>
    public static string IdOf(JobSpec job, int index)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Id ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
