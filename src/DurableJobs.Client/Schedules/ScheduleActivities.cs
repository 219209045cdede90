using System.Diagnostics;
using DurableJobs.Orchestration.Schedules;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.DurableTask;

namespace DurableJobs.Client.Schedules;

/// <summary>
/// Starts an occurrence's batch through <see cref="BatchClient.SubmitAsync"/> under the occurrence's own id: a tick
/// handled twice (a retried activity, a replayed episode) finds the batch the first one started and starts nothing.
/// Traced as one span per occurrence; its lateness (from the due time, jitter included) goes to the tick-lateness histogram.
/// </summary>
internal sealed class StartScheduledBatchActivity : TaskActivity<ScheduledBatchStart, ScheduledBatchStarted>
{
    private readonly BatchClient batches;
    private readonly TimeProvider time;

    /// <summary>Creates the activity.</summary>
    public StartScheduledBatchActivity(BatchClient batches, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(time);
        this.batches = batches;
        this.time = time;
    }

    /// <inheritdoc />
    public override Task<ScheduledBatchStarted> RunAsync(TaskActivityContext context, ScheduledBatchStart input) => StartAsync(input);

    /// <summary>Starts the batch of <paramref name="input"/> (what <see cref="RunAsync"/> does; the Functions app calls it directly).</summary>
    public async Task<ScheduledBatchStarted> StartAsync(ScheduledBatchStart input)
    {
        ArgumentNullException.ThrowIfNull(input);
        double lateness = (time.GetUtcNow().UtcDateTime - DateTime.SpecifyKind(input.DueUtc, DateTimeKind.Utc)).TotalSeconds;
        using Activity? span = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.ScheduleOccurrenceSpan, ActivityKind.Internal);
        span?.SetTag(TelemetryTags.Schedule, input.Schedule);
        span?.SetTag(TelemetryTags.Occurrence, input.OccurrenceUtc.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        span?.SetTag(TelemetryTags.BatchId, input.BatchId);
        span?.SetTag(TelemetryTags.ScheduleTrigger, input.Trigger);
        span?.SetTag(TelemetryTags.TickLateness, lateness);

        SubmitOutcome outcome = await batches.SubmitAsync(input.Template with { BatchId = input.BatchId }).ConfigureAwait(false);
        if (!outcome.Accepted)
        {
            span?.SetStatus(ActivityStatusCode.Error, outcome.Validation.ToString());
            return new ScheduledBatchStarted { Problem = outcome.Validation.ToString() };
        }

        // Counted once per occurrence: a retry that finds the batch started adds nothing.
        if (!outcome.AlreadyExisted)
        {
            DurableJobsTelemetry.TickLateness.Record(Math.Max(0, lateness), new KeyValuePair<string, object?>(TelemetryTags.ScheduleTrigger, input.Trigger));
        }

        span?.SetTag(TelemetryTags.Existed, outcome.AlreadyExisted);
        return new ScheduledBatchStarted { Started = true, Existed = outcome.AlreadyExisted };
    }
}

/// <summary>Of a schedule's batch ids, those still running (unknown ids count as ended).</summary>
internal sealed class FindRunningBatchesActivity : TaskActivity<List<string>, List<string>>
{
    private readonly BatchClient batches;

    /// <summary>Creates the activity.</summary>
    public FindRunningBatchesActivity(BatchClient batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        this.batches = batches;
    }

    /// <inheritdoc />
    public override Task<List<string>> RunAsync(TaskActivityContext context, List<string> input) => FindAsync(input);

    /// <summary>The ids of <paramref name="batchIds"/> whose batch has not finished.</summary>
    public async Task<List<string>> FindAsync(List<string> batchIds)
    {
        ArgumentNullException.ThrowIfNull(batchIds);
        var running = new List<string>();
        foreach (string id in batchIds)
        {
            if (await batches.GetAsync(id).ConfigureAwait(false) is { IsFinished: false })
            {
                running.Add(id);
            }
        }

        return running;
    }
}
