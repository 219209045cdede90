using DurableJobs.Orchestration.Schedules;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace DurableJobs.Client.Schedules;

/// <summary>
/// <see cref="IScheduleClient"/> over any <see cref="DurableTaskClient"/> (the embedded engine's or the one Azure
/// Functions binds). A schedule is the orchestration <c>schedule:{name}</c>; every change is an event on it, so it is
/// applied by the orchestration itself, in order, wherever it runs.
/// </summary>
public sealed class ScheduleClient : IScheduleClient
{
    private const int NextOccurrenceCount = 5;

    // How long a delete waits for the orchestration to end before freeing the name (it is applied within a second).
    private static readonly TimeSpan DeleteWait = TimeSpan.FromSeconds(15);

    private readonly DurableTaskClient durable;
    private readonly BatchClient batches;
    private readonly ScheduleValidator validator;
    private readonly TimeProvider time;

    /// <summary>Creates the client.</summary>
    internal ScheduleClient(DurableTaskClient durable, BatchClient batches, ScheduleValidator validator, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(durable);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(time);
        this.durable = durable;
        this.batches = batches;
        this.validator = validator;
        this.time = time;
    }

    /// <inheritdoc />
    public async Task<ScheduleSetOutcome> SetAsync(string name, ScheduleDefinition? definition, CancellationToken cancellationToken = default)
    {
        Core.Validation.ValidationResult validation = validator.Validate(name, definition);
        if (!validation.IsValid)
        {
            return new ScheduleSetOutcome { Validation = validation };
        }

        string instanceId = ScheduleNames.InstanceIdOf(name);
        OrchestrationMetadata? existing = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (IsLive(existing))
        {
            await SendAsync(instanceId, new ScheduleCommand { Kind = ScheduleCommandKind.Update, Definition = definition }, cancellationToken).ConfigureAwait(false);
            return new ScheduleSetOutcome();
        }

        if (existing is not null)
        {
            // A deleted schedule's finished orchestration: its id is reused only once its history is gone.
            await durable.PurgeInstanceAsync(instanceId, cancellation: cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(
                ScheduleNames.Orchestrator, new ScheduleState { Name = name, Definition = definition! }, new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken).ConfigureAwait(false);
            return new ScheduleSetOutcome { Created = true };
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Created by a concurrent PUT a moment ago: this one is an update of it. Anything else stands.
            if (!IsLive(await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, CancellationToken.None).ConfigureAwait(false)))
            {
                throw;
            }

            await SendAsync(instanceId, new ScheduleCommand { Kind = ScheduleCommandKind.Update, Definition = definition }, cancellationToken).ConfigureAwait(false);
            return new ScheduleSetOutcome();
        }
    }

    /// <inheritdoc />
    public async Task<ScheduleView?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        OrchestrationMetadata? metadata = await durable.GetInstanceAsync(ScheduleNames.InstanceIdOf(name), getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (!IsLive(metadata))
        {
            return null;
        }

        ScheduleView view = ToView(metadata!);
        var runs = view.Runs.ToArray();
        await Parallel.ForAsync(0, runs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            if (runs[i] is { BatchId: { } id, Disposition: OccurrenceDisposition.Started })
            {
                runs[i] = runs[i] with { Outcome = (await batches.GetAsync(id, ct).ConfigureAwait(false))?.Status };
            }
        }).ConfigureAwait(false);
        return view with { Runs = runs };
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ScheduleView>> ListAsync(CancellationToken cancellationToken = default)
    {
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = ScheduleNames.InstancePrefix,
            Statuses = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending],
            FetchInputsAndOutputs = true,
        };
        var views = new List<ScheduleView>();
        await foreach (OrchestrationMetadata metadata in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (metadata.Name == ScheduleNames.Orchestrator && IsLive(metadata))
            {
                views.Add(ToView(metadata));
            }
        }

        return views.OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public Task<ScheduleCommandOutcome> PauseAsync(string name, CancellationToken cancellationToken = default) =>
        CommandAsync(name, ScheduleCommandKind.Pause, cancellationToken);

    /// <inheritdoc />
    public Task<ScheduleCommandOutcome> ResumeAsync(string name, CancellationToken cancellationToken = default) =>
        CommandAsync(name, ScheduleCommandKind.Resume, cancellationToken);

    /// <inheritdoc />
    public Task<ScheduleCommandOutcome> TriggerAsync(string name, CancellationToken cancellationToken = default) =>
        CommandAsync(name, ScheduleCommandKind.Trigger, cancellationToken);

    /// <inheritdoc />
    public async Task<ScheduleCommandOutcome> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (await CommandAsync(name, ScheduleCommandKind.Delete, cancellationToken).ConfigureAwait(false) == ScheduleCommandOutcome.NotFound)
        {
            return ScheduleCommandOutcome.NotFound;
        }

        // The orchestration ends itself (so an occurrence it is starting completes first); then the name is freed.
        string instanceId = ScheduleNames.InstanceIdOf(name);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(DeleteWait);
        try
        {
            await durable.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, wait.Token).ConfigureAwait(false);
            await durable.PurgeInstanceAsync(instanceId, cancellation: cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // No worker applied it in time: it ends when one does, and the next PUT of the name purges it.
        }

        return ScheduleCommandOutcome.Accepted;
    }

    private async Task<ScheduleCommandOutcome> CommandAsync(string name, ScheduleCommandKind kind, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string instanceId = ScheduleNames.InstanceIdOf(name);
        if (!IsLive(await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false)))
        {
            return ScheduleCommandOutcome.NotFound;
        }

        await SendAsync(instanceId, new ScheduleCommand { Kind = kind }, cancellationToken).ConfigureAwait(false);
        return ScheduleCommandOutcome.Accepted;
    }

    private Task SendAsync(string instanceId, ScheduleCommand command, CancellationToken cancellationToken) =>
        durable.RaiseEventAsync(instanceId, ScheduleNames.CommandEvent, command, cancellationToken);

    /// <summary>A schedule exists while its orchestration runs (or waits to); a deleted one has completed.</summary>
    private static bool IsLive(OrchestrationMetadata? metadata) =>
        metadata is { Name: ScheduleNames.Orchestrator, RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended }
        && metadata.ReadCustomStatusAs<ScheduleProgress>() is not { Deleted: true };

    private ScheduleView ToView(OrchestrationMetadata metadata)
    {
        ScheduleState state = metadata.ReadInputAs<ScheduleState>()!;
        ScheduleProgress? progress = metadata.ReadCustomStatusAs<ScheduleProgress>();
        bool paused = progress?.Paused ?? state.Paused;
        var next = new List<DateTimeOffset>();
        if (!paused && state.Problem is null)
        {
            ScheduleCalendar calendar = ScheduleCalendar.Create(state.Definition);
            DateTime after = state.CursorUtc ?? time.GetUtcNow().UtcDateTime;
            for (DateTime? n = calendar.Next(after); n is { } at && next.Count < NextOccurrenceCount; n = calendar.Next(at))
            {
                next.Add(new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)));
            }
        }

        IReadOnlyList<ScheduleRun> recent = progress?.Recent ?? state.Recent;
        return new ScheduleView
        {
            Name = state.Name,
            Definition = state.Definition,
            Paused = paused,
            Revision = progress?.Revision ?? state.Revision,
            NextOccurrences = next,
            Queued = (progress?.Queued ?? state.Queued) is { } queued ? ToRunView(queued) : null,
            Runs = recent.Reverse().Select(ToRunView).ToList(),
            Problem = progress?.Problem ?? state.Problem,
            CreatedAt = metadata.CreatedAt,
            LastUpdatedAt = metadata.LastUpdatedAt,
        };
    }

    private static ScheduleRunView ToRunView(ScheduleRun run) => new()
    {
        Occurrence = new DateTimeOffset(DateTime.SpecifyKind(run.OccurrenceUtc, DateTimeKind.Utc)),
        Disposition = run.Disposition,
        Trigger = run.Trigger,
        BatchId = run.BatchId,
        Detail = run.Detail,
    };
}
