namespace DurableJobs.Orchestration.Storage;

/// <summary>
/// One submission's hold on a batch id (see <see cref="IBatchStore.TryClaimAsync"/>): the submission that holds it
/// is the only one that may store jobs for the id and start its batch.
/// </summary>
/// <param name="BatchId">The claimed id.</param>
/// <param name="JobsKey">Where this submission stores its jobs.</param>
/// <param name="Version">The claim's version in the store (an ETag): changes when the claim is renewed or taken over.</param>
/// <param name="AbandonedJobsKey">When this claim took over one whose submitter never started the batch: that submission's jobs key, to delete.</param>
internal sealed record BatchClaim(string BatchId, string JobsKey, string Version, string? AbandonedJobsKey);
