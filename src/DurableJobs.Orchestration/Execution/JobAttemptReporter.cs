using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// One attempt's heartbeat watchdog and the target of its <see cref="JobContext"/> reports. With a job timeout,
/// <see cref="TimedOut"/> fires once the attempt has gone that long without a heartbeat (its start, a progress report,
/// a heartbeat or a checkpoint), and <see cref="Abandoned"/> a grace period later, for a handler that ignores its token.
/// </summary>
internal sealed class JobAttemptReporter : IJobAttemptReporter, IDisposable
{
    private readonly string batchId;
    private readonly ScheduledJob job;
    private readonly JobProgressTracker? progress;
    private readonly IJobProgressStore? store;
    private readonly CancellationTokenSource? watchdog;
    private readonly CancellationTokenSource? abandon;
    private readonly CancellationTokenRegistration armAbandon;
    private volatile bool ended;

    public JobAttemptReporter(string batchId, ScheduledJob job, TimeSpan? timeout, TimeSpan abandonAfter, TimeProvider time, JobProgressTracker? progress, IJobProgressStore? store)
    {
        this.batchId = batchId;
        this.job = job;
        this.progress = progress;
        this.store = store;
        Timeout = timeout;
        if (timeout is { } limit)
        {
            watchdog = new CancellationTokenSource(limit, time);
            abandon = new CancellationTokenSource(System.Threading.Timeout.InfiniteTimeSpan, time);
            armAbandon = watchdog.Token.Register(() => abandon.CancelAfter(abandonAfter));
        }
    }

    public TimeSpan? Timeout { get; }

    /// <summary>Fires when the attempt went <see cref="Timeout"/> without a heartbeat.</summary>
    public CancellationToken TimedOut => watchdog?.Token ?? CancellationToken.None;

    /// <summary>Fires a grace period after <see cref="TimedOut"/>: stop waiting for the handler.</summary>
    public CancellationToken Abandoned => abandon?.Token ?? CancellationToken.None;

    /// <summary>The checkpoint this attempt saved last, if any.</summary>
    public JsonElement? LastCheckpoint { get; private set; }

    public void ReportProgress(double value, string? message)
    {
        if (ended)
        {
            return;
        }

        progress?.Reported(job.Index, value, message);
        Heartbeat();
    }

    public void Heartbeat()
    {
        if (ended || watchdog is null || watchdog.IsCancellationRequested)
        {
            return; // a beat after the timeout fired does not bring the attempt back
        }

        try
        {
            watchdog.CancelAfter(Timeout!.Value);
        }
        catch (ObjectDisposedException)
        {
            // The attempt ended while the handler still ran (it was abandoned): nothing to watch.
        }
    }

    public async ValueTask SaveCheckpointAsync(string json, JsonElement checkpoint, CancellationToken cancellationToken)
    {
        if (ended)
        {
            // An abandoned attempt must not overwrite what the attempt after it saves.
            throw new OperationCanceledException("The attempt has ended (it timed out); its checkpoint is not saved.");
        }

        if (store is not null)
        {
            await store.SaveCheckpointAsync(batchId, job.Index, json, cancellationToken).ConfigureAwait(false);
            progress?.CheckpointSaved(job.Index);
        }

        LastCheckpoint = checkpoint.Clone();
        Heartbeat();
    }

    public void Dispose()
    {
        ended = true;
        armAbandon.Dispose();
        watchdog?.Dispose();
        abandon?.Dispose();
    }
}
