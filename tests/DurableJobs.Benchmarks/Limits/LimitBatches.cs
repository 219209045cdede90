using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Limits;

/// <summary>Several batches submitted together through the client, as users on one task hub would, then every job's record.</summary>
internal static class LimitBatches
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Submits <paramref name="batches"/> batches of <paramref name="jobs"/> jobs of <paramref name="type"/> at
    /// <paramref name="cap"/> each, the type mapped to <paramref name="limit"/> when given; waits until all are final,
    /// checks every job succeeded and returns what each job recorded.
    /// </summary>
    public static async Task<LimitRunOutcome> RunAsync(
        BatchClient client, string prefix, int batches, int jobs, int cap, string type, JsonElement payload, string? limit, TimeSpan patience, Action eachPoll, CancellationToken cancellationToken)
    {
        var requests = Enumerable.Range(1, batches).Select(i => new BatchRequest
        {
            BatchId = $"{prefix}-{i:00}",
            MaxParallel = cap,
            DeadlineSeconds = 3_600,
            Limits = limit is null ? null : new Dictionary<string, IReadOnlyList<string>> { [type] = [limit] },
            Jobs = [.. Enumerable.Range(0, jobs).Select(_ => new JobSpec { Type = type, Payload = payload })],
        }).ToList();

        DateTimeOffset submitted = DateTimeOffset.UtcNow;
        foreach (SubmitOutcome outcome in await Task.WhenAll(requests.Select(r => client.SubmitAsync(r, cancellationToken))).ConfigureAwait(false))
        {
            _ = outcome.BatchId ?? throw new InvalidOperationException(outcome.Validation.ToString());
        }

        var pending = requests.Select(r => r.BatchId!).ToHashSet(StringComparer.Ordinal);
        DateTimeOffset final = submitted;
        var clock = Stopwatch.StartNew();
        while (pending.Count > 0)
        {
            eachPoll();
            foreach (string id in pending.ToList())
            {
                BatchView view = await client.GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"Batch {id} vanished.");
                if (!view.IsFinished)
                {
                    continue;
                }

                if (view.Succeeded != jobs)
                {
                    throw new InvalidOperationException($"Batch {id} ended {view.Status} with {view.Succeeded} of {jobs} jobs succeeded ({view.Failure}).");
                }

                pending.Remove(id);
                DateTimeOffset completed = view.CompletedAt ?? DateTimeOffset.UtcNow;
                final = completed > final ? completed : final;
            }

            if (pending.Count > 0)
            {
                if (clock.Elapsed > patience)
                {
                    var states = new List<string>();
                    foreach (string id in pending)
                    {
                        BatchView? view = await client.GetAsync(id, cancellationToken).ConfigureAwait(false);
                        states.Add($"{id}: {view?.Status} {view?.Succeeded} ok, {view?.Running} running");
                    }

                    throw new TimeoutException($"{pending.Count} of {batches} batches ({prefix}) were not final within {patience.TotalSeconds:0} s: {string.Join("; ", states)}");
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }

        var records = new List<LimitJob>(batches * jobs);
        foreach (BatchRequest request in requests)
        {
            string? continuation = null;
            do
            {
                JobPage page = await client.GetJobsAsync(request.BatchId!, top: 1_000, continuationToken: continuation, cancellationToken: cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"Batch {request.BatchId} has no results.");
                foreach (JobResult job in page.Items)
                {
                    if (job is { StartedAt: { } started, FinishedAt: { } finished })
                    {
                        records.Add(new LimitJob(request.BatchId!, job.Worker ?? "(none)", started, finished));
                    }
                }

                continuation = page.ContinuationToken;
            }
            while (continuation is not null);
        }

        return new LimitRunOutcome(records, submitted, final);
    }
}
