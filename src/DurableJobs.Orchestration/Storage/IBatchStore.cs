using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Storage;

/// <summary>
/// Where a batch's jobs and results live, outside the orchestration's history: jobs are written once at
/// submission and read by range, results are recorded once per job as they finish and read in pages. This
/// keeps orchestration messages and history small however large the batch, and gives exactly-once results
/// under at-least-once execution.
/// </summary>
internal interface IBatchStore
{
    /// <summary>
    /// Claims <paramref name="batchId"/> for one submission, atomically: of concurrent callers exactly one gets the
    /// claim; the others get null for as long as it lives. A claim older than <paramref name="abandonedAfter"/> is
    /// taken over (by one caller, atomically): its submitter stopped between the claim and the batch's start. The
    /// caller checks first that no batch has the id; a claim says nothing about a batch that exists.
    /// </summary>
    Task<BatchClaim?> TryClaimAsync(string batchId, TimeSpan abandonedAfter, CancellationToken cancellationToken = default);

    /// <summary>The claim with its age reset, or null when another submission has taken it over meanwhile.</summary>
    Task<BatchClaim?> RenewClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Gives a claim up, unless it was taken over meanwhile (the submission failed before the batch started).</summary>
    Task ReleaseClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default);

    /// <summary>Writes the jobs of a submission under <paramref name="jobsKey"/> (the key of its claim).</summary>
    Task SaveJobsAsync(string batchId, string jobsKey, IReadOnlyList<ScheduledJob> jobs, CancellationToken cancellationToken = default);

    /// <summary>Reads jobs <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> - 1 of a submission.</summary>
    Task<IReadOnlyList<ScheduledJob>> ReadJobsAsync(string batchId, string jobsKey, int start, int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves under <paramref name="jobsKey"/> of <paramref name="batchId"/> the jobs of a re-run as a reference, not a
    /// copy: job k of the batch is job <paramref name="indices"/>[k] of <paramref name="sourceBatchId"/> (its id, type and
    /// payload), read from the source's segments. A source that is itself a reference is resolved to the jobs it names.
    /// </summary>
    Task SaveJobReferenceAsync(string batchId, string jobsKey, string sourceBatchId, string sourceJobsKey, IReadOnlyList<int> indices, CancellationToken cancellationToken = default);

    /// <summary>Deletes the jobs of a submission that never became a batch (it failed, or its claim was taken over).</summary>
    Task DeleteJobsAsync(string batchId, string jobsKey, CancellationToken cancellationToken = default);

    /// <summary>The final results already recorded for jobs in the range, by job index.</summary>
    Task<IReadOnlyDictionary<int, JobResult>> GetRecordedAsync(string batchId, int start, int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records final results, each at most once: a result for a job that already has one is ignored (the first
    /// one recorded wins), so a redelivered chunk cannot record a second outcome.
    /// </summary>
    Task RecordAsync(string batchId, IReadOnlyList<IndexedJobResult> results, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of recorded results in submission order, optionally of one status. A page reads a bounded part of the
    /// batch: with a status filter it may hold fewer than <paramref name="top"/> results (even none) and still have a
    /// continuation token.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="continuationToken"/> is not one this store issued.</exception>
    Task<ResultPage> QueryAsync(string batchId, JobStatus? status, int top, string? continuationToken, CancellationToken cancellationToken = default);

    /// <summary>When each recorded job that ran was in flight, in no particular order: what a timeline needs, without outputs.</summary>
    Task<IReadOnlyList<JobSpan>> ReadSpansAsync(string batchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a batch to the index that lists batches newest first, once: a later or concurrent call for the same id
    /// changes nothing. An entry whose batch never started is skipped by the list.
    /// </summary>
    Task IndexBatchAsync(string batchId, DateTimeOffset submittedAt, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="count"/> indexed batch ids, newest first, from where <paramref name="continuationToken"/> left off.</summary>
    /// <exception cref="FormatException"><paramref name="continuationToken"/> is not one this store issued.</exception>
    Task<BatchIdPage> ListBatchesAsync(int count, string? continuationToken, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes everything this store holds for <paramref name="batchId"/>: its job segments and layouts (every
    /// submission's), its result rows and output blobs, its claim and its index entry. Idempotent; the caller makes
    /// sure the batch has finished and that nothing still references its jobs.
    /// </summary>
    Task DeleteBatchAsync(string batchId, CancellationToken cancellationToken = default);
}
