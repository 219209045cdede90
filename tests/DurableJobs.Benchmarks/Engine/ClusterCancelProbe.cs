using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// A cluster cancel, end to end: a batch of long <c>delay</c> jobs fills every slot of the worker host (another
/// process), this process cancels it through the client (the signals row and the orchestration event, exactly as
/// the HTTP API does), and each running job's recorded finish time says when its token reached it.
/// </summary>
/// <remarks>
/// The worker learns of the cancel only through storage, as any worker of a cluster would: the in-process
/// short-cut does not apply across processes. Both processes read the same machine clock.
/// </remarks>
internal static class ClusterCancelProbe
{
    private static readonly TimeSpan JobLength = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    public static async Task<ClusterCancelResult> MeasureAsync(IServiceProvider services, WorkerHostProcess worker, int cap, CancellationToken cancellationToken)
    {
        BatchClient client = services.GetRequiredService<BatchClient>();
        var request = new BatchRequest
        {
            MaxParallel = cap,
            DeadlineSeconds = 3_600,
            Jobs = Enumerable.Range(0, cap * 4)
                .Select(_ => new JobSpec { Type = "delay", Payload = JsonSerializer.SerializeToElement(new { ms = (long)JobLength.TotalMilliseconds }) })
                .ToList(),
        };
        SubmitOutcome outcome = await client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        string id = outcome.BatchId ?? throw new InvalidOperationException(outcome.Validation.ToString());

        // Every slot busy; then a moment for the last chunks' jobs to be inside their handlers, not just scheduled.
        await WaitForAsync(client, id, worker, view => view.Running >= cap, cancellationToken).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);

        DateTimeOffset cancelledAt = DateTimeOffset.UtcNow;
        long start = Stopwatch.GetTimestamp();
        await client.CancelAsync(id, "benchmark: cluster cancel", cancellationToken).ConfigureAwait(false);
        BatchView final = await WaitForAsync(client, id, worker, view => view.IsFinished, cancellationToken).ConfigureAwait(false);
        double batchMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;

        var stoppedMs = new List<double>();
        int notStarted = 0;
        int notCancelled = 0;
        string? continuation = null;
        do
        {
            JobPage page = await client.GetJobsAsync(id, top: 500, continuationToken: continuation, cancellationToken: cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Batch {id} has no results.");
            foreach (JobResult job in page.Items)
            {
                if (job.Status != JobStatus.Cancelled)
                {
                    notCancelled++;
                }

                if (job.StartedAt is null)
                {
                    notStarted++;
                }
                else if (job.FinishedAt is { } finished)
                {
                    stoppedMs.Add((finished - cancelledAt).TotalMilliseconds);
                }
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return new ClusterCancelResult(final.Status.ToString(), stoppedMs, notStarted, notCancelled, batchMs);
    }

    private static async Task<BatchView> WaitForAsync(BatchClient client, string id, WorkerHostProcess worker, Func<BatchView, bool> condition, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            worker.ThrowIfExited();
            if (await client.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } view && condition(view))
            {
                return view;
            }

            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"Batch {id} did not reach the expected state within {Patience.TotalSeconds} s.");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }
}
