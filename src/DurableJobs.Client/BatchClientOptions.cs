namespace DurableJobs.Client;

/// <summary>How the client turns requests into orchestrations.</summary>
public sealed class BatchClientOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Client";

    /// <summary>Jobs per activity. 1 runs one activity per job (lowest latency per job, exact sliding window).</summary>
    public int JobsPerChunk { get; set; } = 1;

    /// <summary>How long work may take to stop after a deadline or cancel before the batch writes it off.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(30);
}
