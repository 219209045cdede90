using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Activities;

/// <summary>
/// Records a final result for jobs that will not run (never started before a deadline or cancel, or lost with
/// a failed chunk), so that every job of a finished batch has exactly one recorded result. Results already
/// recorded are kept: the first outcome wins.
/// </summary>
internal sealed class RecordUnstartedActivity : TaskActivity<UnstartedJobs, int>
{
    private const int ReadSize = 1_000;
    private readonly IBatchStore store;

    /// <summary>Creates the activity.</summary>
    public RecordUnstartedActivity(IBatchStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
    }

    /// <inheritdoc />
    public override Task<int> RunAsync(TaskActivityContext context, UnstartedJobs input) => ExecuteAsync(input);

    /// <summary>The same work without an activity context (Azure Functions).</summary>
    public async Task<int> ExecuteAsync(UnstartedJobs input)
    {
        ArgumentNullException.ThrowIfNull(input);
        string message = input.Status switch
        {
            JobStatus.Cancelled => "The batch was cancelled before the job ran.",
            JobStatus.TimedOut => "The batch deadline passed before the job ran.",
            _ => "The job's activity failed and its retries were exhausted.",
        };
        var finishedAt = new DateTimeOffset(DateTime.SpecifyKind(input.StoppedAtUtc, DateTimeKind.Utc));
        int recorded = 0;
        foreach (JobRange range in input.Ranges)
        {
            for (int start = range.Start; start < range.Start + range.Count; start += ReadSize)
            {
                int count = Math.Min(ReadSize, range.Start + range.Count - start);
                IReadOnlyList<ScheduledJob> jobs = await store.ReadJobsAsync(input.BatchId, input.JobsKey, start, count).ConfigureAwait(false);
                var results = jobs.Select(j => new IndexedJobResult(j.Index, new JobResult
                {
                    Id = j.Id,
                    Type = j.Type,
                    Status = input.Status,
                    Attempts = 0,
                    Error = new JobError(input.Status.ToString(), message),
                    FinishedAt = finishedAt,
                })).ToList();
                await store.RecordAsync(input.BatchId, results).ConfigureAwait(false);
                recorded += results.Count;
                CountCompleted(input.Status, results);
            }
        }

        return recorded;
    }

    private static void CountCompleted(JobStatus status, List<IndexedJobResult> results)
    {
        if (!DurableJobsTelemetry.JobsCompleted.Enabled)
        {
            return;
        }

        // These jobs end without running, but they end: the completed counter covers every job of a batch.
        var statusTag = new KeyValuePair<string, object?>(TelemetryTags.JobStatus, DurableJobsTelemetry.StatusTag(status));
        foreach (IGrouping<string, IndexedJobResult> byType in results.GroupBy(r => r.Result.Type, StringComparer.Ordinal))
        {
            DurableJobsTelemetry.JobsCompleted.Add(byType.Count(), new KeyValuePair<string, object?>(TelemetryTags.JobType, byType.Key), statusTag);
        }
    }
}
