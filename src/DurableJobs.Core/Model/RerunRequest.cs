using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>
/// A re-run of a finished batch: a new batch (<c>{id}.r1</c>, <c>{id}.r2</c>, …) of exactly the jobs that ended with
/// one of <see cref="Statuses"/>, with the original's cap, deadline, retry and failure budget unless given here.
/// </summary>
public sealed record RerunRequest
{
    /// <summary>The statuses whose jobs run again. Omitted: Failed and TimedOut.</summary>
    [JsonPropertyName("statuses")]
    public IReadOnlyList<JobStatus>? Statuses { get; init; }

    /// <summary>The re-run's cap. Omitted: the original's.</summary>
    [JsonPropertyName("maxParallel")]
    public int? MaxParallel { get; init; }

    /// <summary>The re-run's deadline in seconds from its start. Omitted: the original's.</summary>
    [JsonPropertyName("deadlineSeconds")]
    public double? DeadlineSeconds { get; init; }

    /// <summary>The re-run's retry policy. Omitted: the original's.</summary>
    [JsonPropertyName("retry")]
    public RetrySpec? Retry { get; init; }

    /// <summary>What a re-run runs by default.</summary>
    public static IReadOnlyList<JobStatus> DefaultStatuses { get; } = [JobStatus.Failed, JobStatus.TimedOut];
}
