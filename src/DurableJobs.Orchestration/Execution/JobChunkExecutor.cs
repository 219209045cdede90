using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Pool;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Runs a chunk of jobs through the Core channel worker pool at the chunk's parallelism, so the slots the
/// orchestrator granted are never exceeded. Each job's token links the batch deadline, the batch cancel
/// signal and host shutdown. Results go to the batch store as they finish, exactly once: a job whose result is
/// already recorded (the chunk was delivered before) is not run again. At most
/// <see cref="JobExecutionOptions.MaxConcurrentBatches"/> batches run chunks here at once; a chunk of another
/// batch waits for its turn.
/// </summary>
internal sealed class JobChunkExecutor
{
    private readonly JobRunner runner;
    private readonly IBatchCancellationSignals signals;
    private readonly IBatchStore store;
    private readonly JobExecutionOptions options;
    private readonly ILogger logger;
    private readonly BatchAdmission admission;
    private readonly LocalLanes lanes;
    private readonly WorkerShutdown shutdown;
    private readonly IJobProgressStore? progressStore;
    private readonly WorkerIdentity worker;

    /// <summary>Creates the executor.</summary>
    public JobChunkExecutor(
        JobHandlerRegistry handlers,
        IServiceScopeFactory scopes,
        IBatchCancellationSignals signals,
        IBatchStore store,
        WorkerIdentity worker,
        WorkerShutdown shutdown,
        JobExecutionOptions options,
        ILoggerFactory loggerFactory,
        IJobProgressStore? progressStore = null,
        LimitCatalog? limitCatalog = null,
        LimitGates? limitGates = null)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(shutdown);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        this.signals = signals;
        this.store = store;
        this.options = options;
        logger = loggerFactory.CreateLogger<JobChunkExecutor>();
        this.progressStore = progressStore;
        this.worker = worker;
        runner = new JobRunner(handlers, scopes, worker, options.TimeProvider, logger, loggerFactory.CreateLogger(JobLog.OutcomeCategory), progressStore, limitCatalog, limitGates)
        {
            AbandonAfter = options.AbandonAfter,
        };
        admission = new BatchAdmission(options.MaxConcurrentBatches);
        this.shutdown = shutdown;
        lanes = new LocalLanes(options.TimeProvider, options.LaneDeferAfter, options.LaneHandoverWait, options.MaxLaneHandoverWaits);
    }

    /// <summary>Runs every job of <paramref name="chunk"/> to a recorded final result and returns the counts.</summary>
    /// <exception cref="WorkerShuttingDownException">The host is stopping; the chunk must be delivered again.</exception>
    public async Task<ChunkSummary> ExecuteAsync(JobChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        using Activity? span = DurableJobsTelemetry.Source.HasListeners() ? StartSpan(chunk) : null;
        using IDisposable? scope = JobLog.ChunkScope(logger, chunk.BatchId, chunk.Start, chunk.Count);
        try
        {
            ChunkSummary summary = await RunAsync(chunk).ConfigureAwait(false);
            span?.SetTag(TelemetryTags.ChunkRecordedBefore, summary.AlreadyRecorded);
            return summary;
        }
        catch (OperationCanceledException ex) when (ex is not WorkerShuttingDownException && shutdown.Token.IsCancellationRequested)
        {
            // Whatever wait the shutdown ended (the cancel watch, reading the jobs or the recorded results before any
            // job ran) hands the chunk back like a stop mid-run does: failing it would cost a retry and read as an error.
            throw new WorkerShuttingDownException("The worker stopped before the chunk's jobs ran; it will be delivered again.", ex);
        }
        catch (Exception ex) when (span is not null && ex is not WorkerShuttingDownException)
        {
            span.SetStatus(ActivityStatusCode.Error, ex.Message);
            span.AddException(ex);
            throw;
        }
    }

    private static Activity? StartSpan(JobChunk chunk)
    {
        // The batch's trace context travels in the chunk, so the activity joins the trace of the submission
        // whichever process runs it; without one, the span nests under whatever is current.
        ActivityContext parent = chunk.TraceParent is not null && ActivityContext.TryParse(chunk.TraceParent, null, out ActivityContext parsed) ? parsed : default;
        Activity? span = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.ChunkSpan, ActivityKind.Consumer, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.BatchId, chunk.BatchId);
            span.SetTag(TelemetryTags.ChunkStart, chunk.Start);
            span.SetTag(TelemetryTags.ChunkCount, chunk.Count);
        }

        return span;
    }

    private async Task<ChunkSummary> RunAsync(JobChunk chunk)
    {
        CancellationToken hostStopping = shutdown.Token;
        if (admission.MustWait(chunk.BatchId))
        {
            logger.LogInformation("Batch {BatchId}: {Running} batches already run here (DurableJobs:MaxConcurrentBatches); chunk {Start}+{Length} waits its turn",
                chunk.BatchId, admission.RunningBatches, chunk.Start, chunk.Count);
        }

        BatchAdmission.Admitted admitted;
        try
        {
            admitted = await admission.EnterAsync(chunk.BatchId, hostStopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (hostStopping.IsCancellationRequested)
        {
            throw new WorkerShuttingDownException("The worker stopped while a chunk waited for its turn; it will be delivered again.", ex);
        }

        using (admitted)
        {
            return await RunAdmittedAsync(chunk, hostStopping).ConfigureAwait(false);
        }
    }

    private async Task<ChunkSummary> RunAdmittedAsync(JobChunk chunk, CancellationToken hostStopping)
    {
        // The chunk's four reads go out together, while the chunk before this one in the lane still runs: one round trip
        // before its jobs can start instead of three (on a fresh process the three took 0.2 s of its first chunk's start).
        // Besides the cancel watch and the jobs: the results recorded and the checkpoints (and rows) that earlier
        // deliveries of this chunk's jobs left, so a redelivered job is not run again or resumes from its own.
        Task<IBatchCancellationWatch> watchRead = signals.WatchAsync(chunk.BatchId, hostStopping);
        Task<IReadOnlyList<ScheduledJob>> jobsRead = store.ReadJobsAsync(chunk.BatchId, chunk.JobsKey, chunk.Start, chunk.Count, hostStopping);
        Task<IReadOnlyDictionary<int, Core.Model.JobResult>> recordedRead = store.GetRecordedAsync(chunk.BatchId, chunk.Start, chunk.Count, hostStopping);
        Task<IReadOnlyDictionary<int, string?>> leftBehindRead = progressStore is null
            ? Task.FromResult<IReadOnlyDictionary<int, string?>>(new Dictionary<int, string?>())
            : progressStore.ReadCheckpointsAsync(chunk.BatchId, chunk.Start, chunk.Count, hostStopping);
        using IBatchCancellationWatch watch = await FirstOfAsync(watchRead, jobsRead, recordedRead, leftBehindRead).ConfigureAwait(false);
        using var stop = new JobStopSignals(chunk.DeadlineUtc, watch.Token, hostStopping, options.TimeProvider);

        IReadOnlyList<ScheduledJob> jobs = await FirstOfAsync(jobsRead, recordedRead, leftBehindRead).ConfigureAwait(false);
        IReadOnlyDictionary<int, Core.Model.JobResult> recorded = await FirstOfAsync(recordedRead, leftBehindRead).ConfigureAwait(false);
        IReadOnlyDictionary<int, string?> leftBehind = await leftBehindRead.ConfigureAwait(false);
        var tally = new ChunkTally();
        foreach (Core.Model.JobResult earlier in recorded.Values)
        {
            tally.Add(earlier, recordedBefore: true);
        }

        if (recorded.Count > 0)
        {
            logger.LogInformation("Batch {BatchId}: {Count} jobs of chunk {Start}+{Length} were recorded by an earlier delivery and are not run again",
                chunk.BatchId, recorded.Count, chunk.Start, chunk.Count);
        }

        ScheduledJob[] toRun = jobs.Where(j => !recorded.ContainsKey(j.Index)).ToArray();

        if (toRun.Length == 0)
        {
            // A redelivery whose jobs all have results: nothing to run, no slot to take.
            return tally.ToSummary();
        }

        // The jobs are read while the chunk before this one in the lane still runs; now wait for its slots.
        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(chunk, toRun.Length, stop.Token, (through, wait) => watch.WhenLaneFinishedAsync(chunk.JobsKey, chunk.Lane!, through, wait)).ConfigureAwait(false);
        if (turn.Deferred)
        {
            JobLog.ChunkDeferred(logger, chunk.BatchId, chunk.Start, chunk.Count, chunk.Lane, chunk.Sequence);
            return new ChunkSummary { Deferred = true };
        }

        JobLog.ChunkAdmitted(logger, chunk.BatchId, chunk.Start, chunk.Count, chunk.Lane, chunk.Sequence, chunk.Ready, turn.HandedOver);

        JobProgressTracker? progress = progressStore is null
            ? null
            : new JobProgressTracker(progressStore, chunk.BatchId, worker.Name, options.TimeProvider, options.ProgressFlushInterval, logger);
        progress?.Stored(leftBehind.Keys.Where(i => toRun.Any(j => j.Index == i)));

        // Disposed after the recorder (declared before it): the tracker deletes a finished job's row only once its result is stored.
        await using JobProgressTracker? progressScope = progress;
        var recorder = new ResultRecorder(store, chunk.BatchId, progress is null ? null : stored => progress.Recorded(stored.Select(r => r.Index)));
        await using (recorder.ConfigureAwait(false))
        {
            try
            {
                // The pool's parent is host shutdown only: a deadline or cancel must still yield a result per job
                // (TimedOut / Cancelled), which the runner produces without starting the handler.
                await foreach (IndexedJobResult result in WorkerPool.ProcessAsync(
                    toRun,
                    async (job, _) => new IndexedJobResult(job.Index, await RunInLaneAsync(chunk, job, stop, turn, progress, CheckpointOf(leftBehind, job.Index)).ConfigureAwait(false)),
                    new WorkerPoolOptions { WorkerCount = Math.Clamp(chunk.Parallelism, 1, Math.Max(1, toRun.Length)) },
                    hostStopping).ConfigureAwait(false))
                {
                    tally.Add(result.Result, recordedBefore: false);
                    await recorder.AddAsync(result).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException ex) when (hostStopping.IsCancellationRequested)
            {
                // Keep what finished, so the next delivery does not run it again.
                await recorder.CompleteAsync().ConfigureAwait(false);
                throw ex as WorkerShuttingDownException ?? new WorkerShuttingDownException("The worker stopped while running a chunk; it will be delivered again.", ex);
            }

            await recorder.CompleteAsync().ConfigureAwait(false);
        }

        JobLog.ChunkFinished(logger, chunk.BatchId, chunk.Start, chunk.Count, chunk.Lane, chunk.Sequence);
        if (turn.Leave() is { } through && chunk.Lane is { } lane)
        {
            // The last of the lane's chunks here ended: a chunk granted after it may be waiting in another process.
            try
            {
                await signals.LaneFinishedAsync(chunk.BatchId, chunk.JobsKey, lane, through, hostStopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The successor elsewhere then goes back to the orchestrator, as without handovers.
                JobLog.LaneRecordFailed(logger, ex, chunk.BatchId, lane);
            }
        }

        return tally.ToSummary();
    }

    /// <summary>
    /// Awaits <paramref name="first"/>; if it fails, the reads started beside it are no longer awaited, so their own
    /// failures are observed here instead of surfacing as unobserved task exceptions.
    /// </summary>
    private static async Task<T> FirstOfAsync<T>(Task<T> first, params Task[] startedBeside)
    {
        try
        {
            return await first.ConfigureAwait(false);
        }
        catch
        {
            foreach (Task other in startedBeside)
            {
                _ = other.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            throw;
        }
    }

    private static JsonElement? CheckpointOf(IReadOnlyDictionary<int, string?> leftBehind, int index)
    {
        if (!leftBehind.TryGetValue(index, out string? json) || json is null)
        {
            return null;
        }

        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private async ValueTask<Core.Model.JobResult> RunInLaneAsync(JobChunk chunk, ScheduledJob job, JobStopSignals stop, LocalLanes.LaneTurn turn, JobProgressTracker? progress, JsonElement? checkpoint)
    {
        bool holding = false;
        if (turn.Admitted)
        {
            try
            {
                await turn.Slots.AcquireAsync(turn.Sequence, stop.Token).ConfigureAwait(false);
                holding = true;
            }
            catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
            {
                // Stopped while waiting for a slot: the runner records the job stopped without starting it.
            }

            lanes.Started(turn);
        }

        Debug.Assert(holding || stop.Token.IsCancellationRequested, "a job may only run in a slot of its lane");
        try
        {
            return await runner.RunAsync(chunk.BatchId, job, chunk.Retry, stop, progress, checkpoint, chunk.Limits, new LimitClaim(chunk.BatchId, chunk.Priority, chunk.Tenant)).ConfigureAwait(false);
        }
        finally
        {
            if (holding)
            {
                turn.Slots.Release();
            }
        }
    }
}
