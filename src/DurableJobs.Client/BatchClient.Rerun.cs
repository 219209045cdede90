using System.Globalization;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace DurableJobs.Client;

/// <summary>Re-runs: a new batch of the jobs of a finished batch that ended with given statuses.</summary>
public sealed partial class BatchClient
{
    // Results are read a thousand jobs at a time (ten result rows) to find the jobs to re-run.
    private const int RerunScanSize = 1_000;

    /// <summary>
    /// Starts a re-run of a finished batch: a new batch <c>{id}.rN</c> (N the first free number; a re-run of a re-run is
    /// numbered after the first batch) of exactly the jobs whose recorded status is one of <see cref="RerunRequest.Statuses"/>
    /// (default Failed and TimedOut), in their order, with their ids. Their bodies are not copied: the new batch's jobs
    /// reference the first batch's stored segments. The original's results never change; its view lists its re-runs.
    /// </summary>
    public async Task<RerunOutcome> RerunAsync(string batchId, RerunRequest? request = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        request ??= new RerunRequest();
        ValidationResult validation = validator.ValidateRerun(request);
        if (!validation.IsValid)
        {
            return new RerunOutcome { Outcome = ControlOutcome.Invalid, Validation = validation };
        }

        BatchView? view = await GetViewAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return new RerunOutcome { Outcome = ControlOutcome.NotFound };
        }

        if (!view.IsFinished)
        {
            return new RerunOutcome { Outcome = ControlOutcome.NotFinished };
        }

        OrchestrationMetadata? metadata = await durable.GetInstanceAsync(batchId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        BatchOrchestrationInput original = metadata?.ReadInputAs<BatchOrchestrationInput>()
            ?? throw new InvalidOperationException($"Batch {batchId} has no input to re-run.");
        List<int> indices = await FindJobsAsync(batchId, original.JobCount, request.Statuses ?? RerunRequest.DefaultStatuses, cancellationToken).ConfigureAwait(false);
        if (indices.Count == 0)
        {
            return new RerunOutcome { Outcome = ControlOutcome.NothingToRerun };
        }

        string root = original.RerunOf ?? batchId;
        for (int n = 1; ; n++)
        {
            string rerunId = RerunId(root, n);
            if (rerunId.Length > limits.MaxIdLength)
            {
                throw new InvalidOperationException($"Batch {root} cannot take another re-run: '{rerunId}' is longer than {limits.MaxIdLength} characters.");
            }

            // The claim makes the number one re-run's: of concurrent requests each starts its own, with the next number.
            if (await ExistsAsync(rerunId, cancellationToken).ConfigureAwait(false)
                || await store.TryClaimAsync(rerunId, options.ClaimTimeout, cancellationToken).ConfigureAwait(false) is not { } claim)
            {
                continue;
            }

            await store.IndexBatchAsync(rerunId, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
            await store.SaveJobReferenceAsync(rerunId, claim.JobsKey, batchId, original.JobsKey, indices, cancellationToken).ConfigureAwait(false);
            var input = new BatchOrchestrationInput
            {
                BatchId = rerunId,
                JobsKey = claim.JobsKey,
                JobCount = indices.Count,
                MaxParallel = request.MaxParallel ?? original.MaxParallel,
                DeadlineSeconds = request.DeadlineSeconds ?? original.DeadlineSeconds,
                Retry = request.Retry ?? original.Retry,
                AbortWhen = original.AbortWhen,
                Limits = original.Limits,
                Priority = original.Priority,
                Tenant = original.Tenant,
                Chunking = options.ToChunking(),
                StopGraceSeconds = options.StopGrace.TotalSeconds,
                RerunOf = root,
            };
            await durable.ScheduleNewOrchestrationInstanceAsync(
                BatchNames.Orchestrator, input, new StartOrchestrationOptions { InstanceId = rerunId }, cancellationToken).ConfigureAwait(false);
            return new RerunOutcome { Outcome = ControlOutcome.Accepted, BatchId = rerunId, JobCount = indices.Count };
        }
    }

    /// <summary>
    /// A page of a batch's jobs with each one's latest outcome across the batch's re-runs: a job a re-run ran (or is
    /// running and has recorded) shows the last re-run's result, named in <see cref="JobPage.LatestFrom"/>. The page
    /// covers the same jobs as <see cref="GetJobsAsync"/> without a status; <paramref name="status"/> then keeps the jobs
    /// whose latest outcome has it, so a page can hold fewer. Each re-run's results are read whole (re-runs hold the
    /// jobs that did not succeed, usually few). Null when the batch is unknown.
    /// </summary>
    public async Task<JobPage?> GetLatestJobsAsync(string batchId, JobStatus? status = null, int top = 100, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        if (await GetJobsAsync(batchId, null, top, continuationToken, cancellationToken).ConfigureAwait(false) is not { } page)
        {
            return null;
        }

        var onPage = page.Items.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
        var latest = new Dictionary<string, (JobResult Result, string Rerun)>(StringComparer.Ordinal);
        foreach (string rerun in await FindRerunsAsync(batchId, cancellationToken).ConfigureAwait(false) ?? [])
        {
            string? token = null;
            do
            {
                ResultPage results = await store.QueryAsync(rerun, null, RerunScanSize, token, cancellationToken).ConfigureAwait(false);
                foreach (JobResult result in results.Items.Where(r => onPage.Contains(r.Id)))
                {
                    latest[result.Id] = (result, rerun);
                }

                token = results.ContinuationToken;
            }
            while (token is not null);
        }

        JobResult[] items = [.. page.Items.Select(j => latest.TryGetValue(j.Id, out var l) ? l.Result : j).Where(j => status is null || j.Status == status)];
        return new JobPage
        {
            Items = items,
            ContinuationToken = page.ContinuationToken,
            LatestFrom = latest.Count == 0 ? null : items.Where(j => latest.ContainsKey(j.Id)).ToDictionary(j => j.Id, j => latest[j.Id].Rerun, StringComparer.Ordinal),
        };
    }

    /// <summary>The id of re-run <paramref name="n"/> of <paramref name="root"/>.</summary>
    public static string RerunId(string root, int n) => string.Create(CultureInfo.InvariantCulture, $"{root}.r{n}");

    /// <summary>The re-runs of <paramref name="batchId"/> that exist, in order (they are numbered without gaps).</summary>
    private async Task<IReadOnlyList<string>?> FindRerunsAsync(string batchId, CancellationToken cancellationToken)
    {
        var found = new List<string>();
        while (await ExistsAsync(RerunId(batchId, found.Count + 1), cancellationToken).ConfigureAwait(false))
        {
            found.Add(RerunId(batchId, found.Count + 1));
        }

        return found.Count == 0 ? null : found;
    }

    /// <summary>The indices of the jobs of a finished batch whose recorded status is one of <paramref name="statuses"/>.</summary>
    private async Task<List<int>> FindJobsAsync(string batchId, int jobCount, IReadOnlyList<JobStatus> statuses, CancellationToken cancellationToken)
    {
        var indices = new List<int>();
        for (int start = 0; start < jobCount; start += RerunScanSize)
        {
            int count = Math.Min(RerunScanSize, jobCount - start);
            IReadOnlyDictionary<int, JobResult> recorded = await store.GetRecordedAsync(batchId, start, count, cancellationToken).ConfigureAwait(false);
            indices.AddRange(recorded.Where(r => statuses.Contains(r.Value.Status)).Select(r => r.Key).Order());
        }

        return indices;
    }
}
