using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Storage;

/// <summary>One page of recorded results.</summary>
/// <param name="Items">The results, in submission order.</param>
/// <param name="ContinuationToken">Pass back for the next page; null on the last.</param>
internal sealed record ResultPage(IReadOnlyList<JobResult> Items, string? ContinuationToken);
