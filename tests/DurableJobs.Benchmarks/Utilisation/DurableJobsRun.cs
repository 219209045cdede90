using System.Text.Json;
using DurableJobs.Benchmarks.Engine;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// One batch of <c>delay</c> jobs through the client, as a user submits it, and the one-activity-per-job sliding
/// window on the same engine. Whatever engine is built into this branch runs them: the benchmark only reads what
/// the jobs recorded.
/// </summary>
internal static class DurableJobsRun
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Submits <paramref name="jobs"/> jobs of the cell's duration at its cap, waits until the batch is final, checks
    /// every job succeeded and reads each job's start, finish and worker from its result.
    /// </summary>
    /// <remarks><paramref name="eachPoll"/> runs on every poll, e.g. to fail fast when a worker process died.</remarks>
    public static async Task<RunOutcome> BatchAsync(IServiceProvider services, UtilisationCell cell, int jobs, Action? eachPoll, CancellationToken cancellationToken)
    {
        BatchClient client = services.GetRequiredService<BatchClient>();
        JsonElement payload = JsonSerializer.SerializeToElement(new { ms = (long)cell.Duration.TotalMilliseconds });
        var request = new BatchRequest
        {
            MaxParallel = cell.Cap,
            DeadlineSeconds = 3_600,
            Jobs = [.. Enumerable.Range(0, jobs).Select(_ => new JobSpec { Type = "delay", Payload = payload })],
        };
        DateTimeOffset submitted = DateTimeOffset.UtcNow;
        SubmitOutcome outcome = await client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        string id = outcome.BatchId ?? throw new InvalidOperationException(outcome.Validation.ToString());

        var patience = new PatienceClock<(int, int, int, int, int, int)>(Patience.For(cell, jobs));
        BatchView view;
        while (true)
        {
            eachPoll?.Invoke();
            view = await client.GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"Batch {id} vanished.");
            if (view.IsFinished)
            {
                break;
            }

            if (patience.Exhausted((view.Succeeded, view.Failed, view.TimedOut, view.Cancelled, view.Running, view.Pending)) is { } why)
            {
                throw new TimeoutException($"Batch {id} ({jobs} × {cell.Label}) {why}: {Counts(view)}; " +
                    await DescribeAsync(client, id, JobStatus.Running, "running", cancellationToken).ConfigureAwait(false));
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }

        if (view.Succeeded != jobs)
        {
            throw new InvalidOperationException($"Batch {id} ended with {view.Succeeded} of {jobs} jobs succeeded: {Counts(view)}{(view.Failure is null ? string.Empty : $" ({view.Failure})")}; " +
                await DescribeAsync(client, id, JobStatus.Failed, "failed", cancellationToken).ConfigureAwait(false));
        }

        var spans = new List<JobSpan>(jobs);
        var workers = new Dictionary<string, int>(StringComparer.Ordinal);
        string? continuation = null;
        do
        {
            JobPage page = await client.GetJobsAsync(id, top: 1_000, continuationToken: continuation, cancellationToken: cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Batch {id} has no results.");
            foreach (JobResult job in page.Items)
            {
                if (job is { StartedAt: { } started, FinishedAt: { } finished })
                {
                    spans.Add(new JobSpan(started, finished));
                }

                string worker = job.Worker ?? "(none)";
                workers[worker] = workers.GetValueOrDefault(worker) + 1;
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        await DeleteAsync(client, id, cancellationToken).ConfigureAwait(false);
        return new RunOutcome(spans, submitted, view.CompletedAt, workers);
    }

    /// <summary>
    /// Deletes a measured batch, as retention would. The grid runs about 500,000 jobs on one Azurite, which keeps its
    /// whole database in memory and rewrites it every few seconds; left in place, their results made the cells run last
    /// (the fresh column) stall for 0.4–0.9 s mid-batch, which the same cells alone on a new Azurite do not.
    /// </summary>
    private static async Task DeleteAsync(BatchClient client, string id, CancellationToken cancellationToken)
    {
        // The view reads final once the batch's summary is written; its orchestration completes a moment later.
        for (int attempt = 0; ; attempt++)
        {
            DeleteOutcome deleted = await client.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
            if (deleted == DeleteOutcome.Deleted)
            {
                return;
            }

            if (deleted != DeleteOutcome.NotFinished || attempt == 100)
            {
                throw new InvalidOperationException($"Batch {id} could not be deleted after it was measured: {deleted}.");
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every count of the batch's status, so a run that fails says what is stuck or missing.</summary>
    internal static string Counts(BatchView view) =>
        $"status {view.Status}, {view.Total} total: {view.Succeeded} succeeded, {view.Failed} failed, {view.TimedOut} timed out, {view.Cancelled} cancelled, {view.Running} running, {view.Pending} pending (last updated {view.LastUpdatedAt:HH:mm:ss.fff})";

    /// <summary>A few jobs of <paramref name="status"/>: which ones, since when, on which worker, and why.</summary>
    private static async Task<string> DescribeAsync(BatchClient client, string id, JobStatus status, string what, CancellationToken cancellationToken)
    {
        JobPage? page = await client.GetJobsAsync(id, status, top: 5, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (page is null || page.Items.Count == 0)
        {
            return $"no {what} job listed";
        }

        return $"{what} jobs: " + string.Join("; ", page.Items.Select(j =>
            $"{j.Id} (attempt {j.Attempts}, started {j.StartedAt:HH:mm:ss.fff} on {j.Worker ?? "?"}{(j.Error is { } e ? $", {e.Type}: {e.Message}" : string.Empty)})"));
    }

    /// <summary>
    /// The usual way to cap a fan-out without DurableJobs: one activity per job under a sliding window of the cap
    /// (<see cref="SlidingWindowOrchestrator"/>), each activity waiting the cell's duration.
    /// </summary>
    public static async Task<RunOutcome> SlidingWindowAsync(IServiceProvider services, UtilisationCell cell, int jobs, CancellationToken cancellationToken)
    {
        DurableTaskClient durable = services.GetRequiredService<DurableTaskClient>();
        InProcessSpans.Take();
        DateTimeOffset submitted = DateTimeOffset.UtcNow;
        string id = await durable.ScheduleNewOrchestrationInstanceAsync(
            SlidingWindowOrchestrator.Name, new WindowInput(jobs, cell.Cap, (int)cell.Duration.TotalMilliseconds), cancellationToken).ConfigureAwait(false);
        // As for a batch, progress is an activity that recorded a run: at cap 1,000 the window's first 1,000 activities
        // and the replays of its growing history take longer than a minute before it ends, while it keeps finishing jobs.
        var patience = new PatienceClock<int>(Patience.For(cell, jobs));
        while (true)
        {
            OrchestrationMetadata? metadata = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (metadata is { IsCompleted: true })
            {
                if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                {
                    throw new InvalidOperationException($"Sliding window {id} ended {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage}");
                }

                IReadOnlyList<JobSpan> spans = InProcessSpans.Take();
                if (spans.Count != jobs)
                {
                    throw new InvalidOperationException($"Sliding window {id} completed, but {spans.Count} of {jobs} activities recorded a run.");
                }

                // Its history (a few events per job) goes too, for the reason the batches do (DeleteAsync).
                await durable.PurgeInstanceAsync(id, cancellation: cancellationToken).ConfigureAwait(false);

                return new RunOutcome(spans, submitted, metadata.LastUpdatedAt, Workers: null);
            }

            if (InProcessSpans.Count is var ran && patience.Exhausted(ran) is { } why)
            {
                throw new TimeoutException($"Sliding window {id} ({jobs} × {cell.Label}) {why}: {ran} jobs ran.");
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}
