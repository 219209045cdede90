using DurableJobs.Core.Model;

namespace DurableJobs.Orchestration.Storage;

/// <summary>A job's final result and its position in the batch.</summary>
/// <param name="Index">Zero-based position in the batch.</param>
/// <param name="Result">The result.</param>
internal sealed record IndexedJobResult(int Index, JobResult Result);
