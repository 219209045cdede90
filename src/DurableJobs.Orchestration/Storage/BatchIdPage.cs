namespace DurableJobs.Orchestration.Storage;

/// <summary>One page of the batch index, newest first.</summary>
/// <param name="BatchIds">The batch ids, newest first.</param>
/// <param name="ContinuationToken">Pass back for the next (older) page; null on the last.</param>
internal sealed record BatchIdPage(IReadOnlyList<string> BatchIds, string? ContinuationToken);
