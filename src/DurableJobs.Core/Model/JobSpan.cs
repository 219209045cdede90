namespace DurableJobs.Core.Model;

/// <summary>When a job that ran was in flight: from its first attempt's start to its final status. All a timeline needs of a result.</summary>
/// <param name="StartedAt">When the first attempt started (UTC).</param>
/// <param name="FinishedAt">When the job reached its final status (UTC).</param>
public readonly record struct JobSpan(DateTimeOffset StartedAt, DateTimeOffset FinishedAt);
