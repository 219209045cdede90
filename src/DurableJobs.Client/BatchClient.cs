using System.Diagnostics;
using System.Globalization;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Client;

/// <summary>
/// Submits, inspects, lists and cancels batches. Works over any <see cref="DurableTaskClient"/>: the one
/// Azure Functions injects and the embedded engine's alike, so both hosts expose the same behaviour.
/// </summary>
public sealed partial class BatchClient
{
    private readonly DurableTaskClient durable;
    private readonly IBatchCancellationSignals signals;
    private readonly IBatchStore store;
    private readonly BatchValidator validator;
    private readonly BatchLimits limits;
    private readonly BatchClientOptions options;
    private readonly Core.Hooks.HookOptions hooks;
    private readonly IJobProgressStore? progress;

    // How often a submission that found its batch id claimed by another looks again: soon at first (that one is
    // usually starting the batch right now), then at most every second.
    private static readonly TimeSpan FirstClaimPause = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxClaimPause = TimeSpan.FromSeconds(1);

    /// <summary>Creates the client (apps get it from <c>AddDurableJobs().AddClient()</c>, Functions through its factory).</summary>
    internal BatchClient(DurableTaskClient durable, IBatchCancellationSignals signals, IBatchStore store, BatchValidator validator, BatchLimits limits, BatchClientOptions options, Core.Hooks.HookOptions? hooks = null, IJobProgressStore? progress = null)
    {
        ArgumentNullException.ThrowIfNull(durable);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(options);
        this.durable = durable;
        this.signals = signals;
        this.store = store;
        this.validator = validator;
        this.limits = limits;
        this.options = options;
        this.hooks = hooks ?? new Core.Hooks.HookOptions();
        this.progress = progress;
    }

    /// <summary>A client over <paramref name="durable"/> with everything else from <paramref name="services"/>.</summary>
    internal static BatchClient Create(DurableTaskClient durable, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new BatchClient(
            durable,
            services.GetRequiredService<IBatchCancellationSignals>(),
            services.GetRequiredService<IBatchStore>(),
            services.GetRequiredService<BatchValidator>(),
            services.GetRequiredService<BatchLimits>(),
            services.GetRequiredService<BatchClientOptions>(),
            services.GetService<Core.Hooks.HookOptions>(),
            services.GetService<IJobProgressStore>());
    }

    /// <summary>
    /// Validates and starts a batch. A request whose <c>batchId</c> already names a batch starts nothing and
    /// answers with the existing batch (<see cref="SubmitOutcome.AlreadyExisted"/>): the id is an idempotency key.
    /// Of concurrent submissions of one new id, exactly one starts the batch; the others wait for it and answer
    /// with it, whatever their bodies. An invalid request creates nothing, and neither does a failed one.
    /// </summary>
    public async Task<SubmitOutcome> SubmitAsync(BatchRequest? request, CancellationToken cancellationToken = default)
    {
        using Activity? span = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.SubmitSpan, ActivityKind.Producer);
        try
        {
            SubmitOutcome outcome = await SubmitTracedAsync(request, span, cancellationToken).ConfigureAwait(false);
            string result = !outcome.Accepted ? "invalid" : outcome.AlreadyExisted ? "existing" : "started";
            DurableJobsTelemetry.BatchesSubmitted.Add(1, new KeyValuePair<string, object?>(TelemetryTags.SubmitOutcome, result));
            if (span is { IsAllDataRequested: true })
            {
                span.SetTag(TelemetryTags.BatchId, outcome.BatchId);
                span.SetTag(TelemetryTags.Existed, outcome.AlreadyExisted);
                span.SetTag(TelemetryTags.SubmitOutcome, result);
                if (!outcome.Accepted)
                {
                    span.SetStatus(ActivityStatusCode.Error, "The request is invalid.");
                }
            }

            return outcome;
        }
        catch (Exception ex) when (span is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, ex.Message);
            span.AddException(ex);
            throw;
        }
    }

    private async Task<SubmitOutcome> SubmitTracedAsync(BatchRequest? request, Activity? span, CancellationToken cancellationToken)
    {
        ValidationResult validation = validator.Validate(request);
        if (!validation.IsValid)
        {
            return new SubmitOutcome { Validation = validation };
        }

        string batchId = request!.BatchId ?? Guid.NewGuid().ToString("N");
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.BatchId, batchId);
            span.SetTag(TelemetryTags.JobCount, request.Jobs?.Count ?? 0);
        }

        // One submission claims a new id (an atomic insert) and alone stores jobs and starts the batch; concurrent
        // submissions of the id wait until that batch exists and answer with it, whatever their bodies say, having
        // stored nothing. A claim whose submitter stopped before starting the batch is taken over once it times out.
        for (TimeSpan pause = FirstClaimPause; ; pause = pause * 2 < MaxClaimPause ? pause * 2 : MaxClaimPause)
        {
            if (await ExistsAsync(batchId, cancellationToken).ConfigureAwait(false))
            {
                return new SubmitOutcome { BatchId = batchId, AlreadyExisted = true };
            }

            if (await store.TryClaimAsync(batchId, options.ClaimTimeout, cancellationToken).ConfigureAwait(false) is { } claim
                && await StartClaimedAsync(claim, request, cancellationToken).ConfigureAwait(false) is { } outcome)
            {
                return outcome;
            }

            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stores the jobs under the claim and starts the batch; null when the claim was taken over meanwhile.</summary>
    private async Task<SubmitOutcome?> StartClaimedAsync(BatchClaim claim, BatchRequest request, CancellationToken cancellationToken)
    {
        string batchId = claim.BatchId;
        try
        {
            if (claim.AbandonedJobsKey is { } abandoned)
            {
                await store.DeleteJobsAsync(batchId, abandoned, cancellationToken).ConfigureAwait(false);
            }

            // Listed before it exists: an entry whose batch never started is skipped by the list, a batch without an
            // entry would never be listed. A submission that takes over an abandoned claim shares its entry.
            await store.IndexBatchAsync(batchId, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false);
            await store.SaveJobsAsync(batchId, claim.JobsKey, ToScheduledJobs(request), cancellationToken).ConfigureAwait(false);

            // Renewed just before the start, so the claim cannot time out while the start is under way.
            if (await store.RenewClaimAsync(claim, cancellationToken).ConfigureAwait(false) is not { } renewed)
            {
                await store.DeleteJobsAsync(batchId, claim.JobsKey, CancellationToken.None).ConfigureAwait(false);
                return null;
            }

            claim = renewed;
            BatchOrchestrationInput input = ToOrchestrationInput(batchId, claim.JobsKey, request);
            using Activity? start = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.OrchestrationStartSpan, ActivityKind.Producer);
            if (start is { IsAllDataRequested: true })
            {
                start.SetTag(TelemetryTags.BatchId, batchId);
                start.SetTag(TelemetryTags.MaxParallel, input.MaxParallel);
            }

            // The orchestration carries this trace context to its activities: chunk and job spans join this trace.
            input = input with { TraceParent = (start ?? Activity.Current)?.Id };
            await durable.ScheduleNewOrchestrationInstanceAsync(
                BatchNames.Orchestrator, input, new StartOrchestrationOptions { InstanceId = batchId }, cancellationToken).ConfigureAwait(false);
            return new SubmitOutcome { BatchId = batchId };
        }
        catch (Exception)
        {
            if (await RecoverAsync(claim).ConfigureAwait(false) is { } outcome)
            {
                return outcome;
            }

            throw;
        }
    }

    /// <summary>
    /// After a failed submission step: the batch may have started all the same (the start reached storage, its answer
    /// did not), or under another submission. Otherwise this submission's jobs and claim go, and null says the
    /// failure stands.
    /// </summary>
    private async Task<SubmitOutcome?> RecoverAsync(BatchClaim claim)
    {
        try
        {
            OrchestrationMetadata? started = await durable.GetInstanceAsync(claim.BatchId, getInputsAndOutputs: true, CancellationToken.None).ConfigureAwait(false);
            if (started?.ReadInputAs<BatchOrchestrationInput>()?.JobsKey == claim.JobsKey)
            {
                return new SubmitOutcome { BatchId = claim.BatchId };
            }

            await store.DeleteJobsAsync(claim.BatchId, claim.JobsKey, CancellationToken.None).ConfigureAwait(false);
            if (started is not null)
            {
                return new SubmitOutcome { BatchId = claim.BatchId, AlreadyExisted = true };
            }

            await store.ReleaseClaimAsync(claim, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception cleanup) when (cleanup is not OperationCanceledException)
        {
            // Storage is failing too: the claim times out and whoever takes it over deletes these jobs.
        }

        return null;
    }

    /// <summary>The batch, or null when no batch has that id. A finished batch lists its re-runs.</summary>
    public async Task<BatchView?> GetAsync(string batchId, CancellationToken cancellationToken = default)
    {
        BatchView? view = await GetViewAsync(batchId, cancellationToken).ConfigureAwait(false);
        return view is { IsFinished: true }
            ? view with { Reruns = await FindRerunsAsync(batchId, cancellationToken).ConfigureAwait(false), Hooks = await FindHooksAsync(batchId, cancellationToken).ConfigureAwait(false) }
            : view;
    }

    /// <summary>The delivery status of a finished batch's hooks, or null when it has none (or they have not started).</summary>
    private async Task<IReadOnlyList<Orchestration.Hooks.HookStepStatus>?> FindHooksAsync(string batchId, CancellationToken cancellationToken)
    {
        OrchestrationMetadata? hook = await durable.GetInstanceAsync(Orchestration.Hooks.HookNames.InstanceIdOf(batchId), getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return hook is { Name: Orchestration.Hooks.HookNames.Orchestrator } ? hook.ReadCustomStatusAs<List<Orchestration.Hooks.HookStepStatus>>() : null;
    }

    /// <summary>The batch without its re-runs (a list shows many batches, and each re-run found costs a read).</summary>
    private async Task<BatchView?> GetViewAsync(string batchId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        OrchestrationMetadata? metadata = await durable.GetInstanceAsync(batchId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (metadata is null || metadata.Name != BatchNames.Orchestrator)
        {
            return null;
        }

        // A batch run in parts publishes the finished parts' counts; the running part adds its own.
        BatchProgress? running = metadata.IsRunning && metadata.ReadCustomStatusAs<BatchProgress>() is { CurrentPart: { } part }
            ? (await durable.GetInstanceAsync(part, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false))?.ReadCustomStatusAs<BatchProgress>()
            : null;
        // Until a worker first runs it, a delayed batch's start time is only in its input (read for that state alone).
        BatchOrchestrationInput? pending = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Pending
            ? (await durable.GetInstanceAsync(batchId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false))?.ReadInputAs<BatchOrchestrationInput>()
            : null;
        return ToView(metadata, running?.Summary, pending);
    }

    /// <summary>
    /// A page of the batches, newest first. A page covers the next <paramref name="top"/> batches of the index by
    /// submission time and reads each one's instance, so it costs what it shows whatever the hub holds; with
    /// <paramref name="status"/> it shows those of them with that status, so it can hold fewer (even none) and still
    /// have a continuation token.
    /// </summary>
    /// <exception cref="FormatException"><paramref name="continuationToken"/> is not one this service issued.</exception>
    public async Task<BatchPage> ListAsync(BatchStatus? status = null, int top = 50, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        BatchIdPage index = await store.ListBatchesAsync(top, continuationToken, cancellationToken).ConfigureAwait(false);
        var views = new BatchView?[index.BatchIds.Count];
        await Parallel.ForAsync(0, views.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
            views[i] = await GetViewAsync(index.BatchIds[i], ct).ConfigureAwait(false)).ConfigureAwait(false);

        // No view: the entry of a submission that never started.
        List<BatchView> items = views.OfType<BatchView>().Where(v => status is null || v.Status == status).ToList();
        return new BatchPage { Items = items, ContinuationToken = index.ContinuationToken };
    }

    /// <summary>When each finished job of a batch was in flight (read without outputs), for its timeline.</summary>
    public Task<IReadOnlyList<JobSpan>> GetJobSpansAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        return store.ReadSpansAsync(batchId, cancellationToken);
    }

    /// <summary>
    /// A page of recorded job results, in submission order, optionally of one status. Null when the batch is
    /// unknown. While a batch runs, only jobs that have finished are listed; once it has finished, every job is.
    /// With <see cref="JobStatus.Running"/>: the jobs running now that have run for about a second or more (the
    /// progress flush interval), each with its last <see cref="JobResult.Progress"/>; none once the batch has finished.
    /// </summary>
    public async Task<JobPage?> GetJobsAsync(string batchId, JobStatus? status = null, int top = 100, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        if (await GetAsync(batchId, cancellationToken).ConfigureAwait(false) is not { } view)
        {
            return null;
        }

        if (status == JobStatus.Running)
        {
            return await GetRunningAsync(batchId, view, top, continuationToken, cancellationToken).ConfigureAwait(false);
        }

        ResultPage page = await store.QueryAsync(batchId, status, top, continuationToken, cancellationToken).ConfigureAwait(false);
        return new JobPage { Items = page.Items, ContinuationToken = page.ContinuationToken };
    }

    // Running jobs are few (at most the batch's cap), so they are read at once and paged in memory, by index.
    private async Task<JobPage> GetRunningAsync(string batchId, BatchView view, int top, string? continuationToken, CancellationToken cancellationToken)
    {
        int from = 0;
        if (continuationToken is not null && (!int.TryParse(continuationToken, NumberStyles.None, CultureInfo.InvariantCulture, out from) || from < 0))
        {
            throw new FormatException("The continuation token is not one this service issued.");
        }

        // Rows a stopped worker left behind say nothing about a batch that has ended.
        IReadOnlyList<JobResult> running = progress is null || view.IsFinished
            ? []
            : await progress.ReadRunningAsync(batchId, cancellationToken).ConfigureAwait(false);
        List<JobResult> page = running.Skip(from).Take(top).ToList();
        string? next = from + page.Count < running.Count ? (from + page.Count).ToString(CultureInfo.InvariantCulture) : null;
        return new JobPage { Items = page, ContinuationToken = next };
    }

    /// <summary>
    /// Cancels a running batch: records the cancel where running activities watch for it (so handlers stop
    /// within about a second), then tells the orchestrator, which schedules nothing more.
    /// </summary>
    public async Task<CancelOutcome> CancelAsync(string batchId, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        BatchView? view = await GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return CancelOutcome.NotFound;
        }

        if (view.IsFinished)
        {
            return CancelOutcome.AlreadyFinished;
        }

        await signals.SignalCancelAsync(batchId, cancellationToken).ConfigureAwait(false);
        await durable.RaiseEventAsync(batchId, BatchNames.CancelEvent, new CancelBatchRequest(reason), cancellationToken).ConfigureAwait(false);
        return CancelOutcome.Accepted;
    }

    /// <summary>
    /// Pauses a batch: its orchestrator grants no new chunk until <see cref="ResumeAsync"/>; chunks already granted (the
    /// running one of each lane and those granted ahead) finish. The deadline still counts. Idempotent; a batch not yet
    /// started takes the pause once it starts.
    /// </summary>
    public Task<ControlOutcome> PauseAsync(string batchId, string? reason = null, CancellationToken cancellationToken = default) =>
        RaiseControlAsync(batchId, BatchNames.PauseEvent, reason, cancellationToken);

    /// <summary>Resumes a paused batch: grants go on where they stopped. A resume of a batch not paused changes nothing.</summary>
    public Task<ControlOutcome> ResumeAsync(string batchId, string? reason = null, CancellationToken cancellationToken = default) =>
        RaiseControlAsync(batchId, BatchNames.ResumeEvent, reason, cancellationToken);

    /// <summary>
    /// Changes the cap of a batch that has not finished. A rise takes effect as soon as the orchestrator takes the event
    /// (new lanes for the difference); a fall stops all grants until the chunks granted under the old cap have finished,
    /// then opens lanes for the new cap, so at no instant do more jobs run than the cap in force (running jobs are never
    /// stopped). Invalid when <paramref name="maxParallel"/> is outside the limits.
    /// </summary>
    public Task<ControlOutcome> SetMaxParallelAsync(string batchId, int maxParallel, CancellationToken cancellationToken = default) =>
        maxParallel < limits.MinParallel || maxParallel > limits.MaxParallel
            ? Task.FromResult(ControlOutcome.Invalid)
            : RaiseAsync(batchId, BatchNames.SetCapEvent, new CapChange(maxParallel), cancellationToken);

    private Task<ControlOutcome> RaiseControlAsync(string batchId, string eventName, string? reason, CancellationToken cancellationToken) =>
        RaiseAsync(batchId, eventName, new BatchControlRequest(reason), cancellationToken);

    private async Task<ControlOutcome> RaiseAsync(string batchId, string eventName, object payload, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        BatchView? view = await GetAsync(batchId, cancellationToken).ConfigureAwait(false);
        if (view is null)
        {
            return ControlOutcome.NotFound;
        }

        if (view.IsFinished)
        {
            return ControlOutcome.AlreadyFinished;
        }

        await durable.RaiseEventAsync(batchId, eventName, payload, cancellationToken).ConfigureAwait(false);
        return ControlOutcome.Accepted;
    }

    /// <summary>The jobs of a validated request, ids resolved.</summary>
    internal static IReadOnlyList<ScheduledJob> ToScheduledJobs(BatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<JobSpec> specs = request.Jobs ?? [];
        var jobs = new ScheduledJob[specs.Count];
        for (int i = 0; i < specs.Count; i++)
        {
            jobs[i] = new ScheduledJob(i, JobIds.IdOf(specs[i], i), specs[i].Type!, specs[i].Payload, specs[i].JobTimeoutSeconds ?? request.JobTimeoutSeconds);
        }

        return jobs;
    }

    /// <summary>The orchestration input for a validated request whose jobs are stored under <paramref name="jobsKey"/>, every default resolved.</summary>
    internal BatchOrchestrationInput ToOrchestrationInput(string batchId, string jobsKey, BatchRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentException.ThrowIfNullOrEmpty(jobsKey);
        ArgumentNullException.ThrowIfNull(request);
        return new BatchOrchestrationInput
        {
            BatchId = batchId,
            JobsKey = jobsKey,
            JobCount = request.Jobs?.Count ?? 0,
            MaxParallel = request.MaxParallel ?? limits.DefaultMaxParallel,
            DeadlineSeconds = request.DeadlineSeconds ?? limits.DefaultDeadline.TotalSeconds,
            Retry = request.Retry ?? RetrySpec.None,
            AbortWhen = request.AbortWhen,
            Limits = request.Limits,
            Priority = request.Priority,
            Tenant = request.Tenant,
            Chunking = options.ToChunking(),
            StopGraceSeconds = options.StopGrace.TotalSeconds,
            Hooks = request.OnComplete is null && request.Next is null ? null : new Orchestration.Hooks.BatchHooks
            {
                OnComplete = request.OnComplete,
                Next = request.Next,
                DeadlineSeconds = request.OnComplete?.DeadlineSeconds ?? hooks.DefaultDeadline.TotalSeconds,
            },

            // startAfterSeconds counts from this submission, fixed now: a retried start does not move it.
            StartAtUtc = request.StartAt?.UtcDateTime ?? (request.StartAfterSeconds is { } after ? DateTime.UtcNow.AddSeconds(after) : null),
        };
    }

    private static BatchView ToView(OrchestrationMetadata metadata, BatchSummary? runningPart = null, BatchOrchestrationInput? pending = null)
    {
        BatchProgress? progress = metadata.ReadCustomStatusAs<BatchProgress>();
        DateTime? startAt = metadata.IsRunning ? progress?.StartAtUtc : pending?.StartAtUtc;
        BatchResult? result = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? metadata.ReadOutputAs<BatchResult>() : null;
        BatchSummary summary = result?.Summary ?? progress?.Summary
            ?? (pending is null ? new BatchSummary() : new BatchSummary { Total = pending.JobCount, Pending = pending.JobCount });
        if (result is null && runningPart is not null)
        {
            summary = summary.Plus(runningPart);
        }
        BatchStatus status = metadata.RuntimeStatus switch
        {
            _ when startAt is not null => BatchStatus.Scheduled,
            OrchestrationRuntimeStatus.Pending => BatchStatus.Pending,
            OrchestrationRuntimeStatus.Completed => result?.Status ?? BatchStatus.Completed,
            OrchestrationRuntimeStatus.Failed => BatchStatus.Failed,
            OrchestrationRuntimeStatus.Terminated => BatchStatus.Cancelled,
            _ when progress?.Paused == true => BatchStatus.Paused,
            _ => BatchStatus.Running,
        };

        return new BatchView
        {
            Id = metadata.InstanceId,
            Status = status,
            Total = summary.Total,
            Succeeded = summary.Succeeded,
            Failed = summary.Failed,
            TimedOut = summary.TimedOut,
            Cancelled = summary.Cancelled,
            Running = summary.Running,
            Pending = summary.Pending,
            MaxParallel = result?.MaxParallel ?? progress?.MaxParallel ?? 0,
            CreatedAt = metadata.CreatedAt,
            LastUpdatedAt = metadata.LastUpdatedAt,
            CompletedAt = metadata.IsCompleted ? metadata.LastUpdatedAt : null,
            Failure = metadata.FailureDetails?.ErrorMessage,
            StartAt = startAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null,
            Reason = result?.Reason ?? progress?.Reason,
            CapSteps = result?.CapSteps ?? progress?.CapSteps,
        };
    }

    private async Task<bool> ExistsAsync(string batchId, CancellationToken cancellationToken) =>
        await durable.GetInstanceAsync(batchId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false) is not null;
}
