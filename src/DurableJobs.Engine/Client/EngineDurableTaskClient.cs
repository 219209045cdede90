using DurableJobs.Engine.Shims;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using CoreOrchestrationQuery = DurableTask.Core.Query.OrchestrationQuery;
using SdkDataConverter = Microsoft.DurableTask.DataConverter;
using PurgeResult = Microsoft.DurableTask.Client.PurgeResult;

namespace DurableJobs.Engine.Client;

/// <summary>
/// The SDK's <see cref="DurableTaskClient"/> over Durable Task Core's Azure Storage service, so code written
/// against the client Azure Functions injects (<c>[DurableClient]</c>) runs unchanged in the embedded host.
/// </summary>
internal sealed class EngineDurableTaskClient : DurableTaskClient
{
    // Never start a second execution under an id already used: batch ids are idempotency keys.
    private static readonly OrchestrationStatus[] AllStatuses = Enum.GetValues<OrchestrationStatus>();
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly AzureStorageOrchestrationService service;
    private readonly TaskHubClient client;
    private readonly SdkDataConverter converter;

    /// <summary>Creates the client.</summary>
    public EngineDurableTaskClient(AzureStorageOrchestrationService service, SdkDataConverter converter)
        : base("DurableJobs")
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(converter);
        this.service = service;
        this.converter = converter;
        client = new TaskHubClient(service, new SdkDataConverterAdapter(converter));
    }

    /// <inheritdoc />
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(
        TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        string instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var tags = options?.Tags is { Count: > 0 } t ? t.ToDictionary(kv => kv.Key, kv => kv.Value) : null;
        OrchestrationInstance instance = options?.StartAt is { } startAt
            ? await client.CreateOrchestrationInstanceAsync(orchestratorName.Name, string.Empty, instanceId, input, tags, AllStatuses, startAt.UtcDateTime).ConfigureAwait(false)
            : await client.CreateOrchestrationInstanceAsync(orchestratorName.Name, string.Empty, instanceId, input, tags, AllStatuses).ConfigureAwait(false);
        return instance.InstanceId;
    }

    /// <inheritdoc />
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return client.RaiseEventAsync(new OrchestrationInstance { InstanceId = instanceId }, eventName, eventPayload!);
    }

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollUntilAsync(instanceId, getInputsAndOutputs, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <inheritdoc />
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollUntilAsync(instanceId, getInputsAndOutputs, m => m.IsCompleted, cancellation);

    /// <inheritdoc />
    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        string reason = options?.Output is { } output ? converter.Serialize(output) ?? string.Empty : string.Empty;
        return client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);
    }

    /// <inheritdoc />
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        client.SuspendInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    /// <inheritdoc />
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        client.ResumeInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    /// <inheritdoc />
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        IList<OrchestrationState> states = await service.GetOrchestrationStateAsync(instanceId, allExecutions: false, fetchInput: getInputsAndOutputs).ConfigureAwait(false);
        return states.FirstOrDefault() is { } state ? ToMetadata(state, getInputsAndOutputs) : null;
    }

    /// <inheritdoc />
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) =>
        Pageable.Create<OrchestrationMetadata>(async (continuation, pageSize, cancellation) =>
        {
            var query = new CoreOrchestrationQuery
            {
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime,
                RuntimeStatus = filter?.Statuses?.Select(s => (OrchestrationStatus)(int)s).ToList(),
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                PageSize = pageSize ?? filter?.PageSize ?? OrchestrationQuery.DefaultPageSize,
                ContinuationToken = continuation ?? filter?.ContinuationToken,
                FetchInputsAndOutputs = filter?.FetchInputsAndOutputs ?? false,
            };
            var result = await service.GetOrchestrationWithQueryAsync(query, cancellation).ConfigureAwait(false);
            var items = result.OrchestrationState.Select(s => ToMetadata(s, query.FetchInputsAndOutputs)).ToList();
            return new Page<OrchestrationMetadata>(items, result.ContinuationToken);
        });

    /// <inheritdoc />
    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var result = await service.PurgeInstanceHistoryAsync(instanceId).ConfigureAwait(false);
        return new PurgeResult(result.InstancesDeleted);
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<OrchestrationMetadata> PollUntilAsync(
        string instanceId, bool getInputsAndOutputs, Func<OrchestrationMetadata, bool> done, CancellationToken cancellation)
    {
        while (true)
        {
            OrchestrationMetadata? metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false);
            if (metadata is not null && done(metadata))
            {
                return metadata;
            }

            await Task.Delay(PollInterval, cancellation).ConfigureAwait(false);
        }
    }

    private OrchestrationMetadata ToMetadata(OrchestrationState state, bool withInputsAndOutputs) =>
        new(state.Name, state.OrchestrationInstance.InstanceId)
        {
            DataConverter = converter,
            RuntimeStatus = (OrchestrationRuntimeStatus)(int)state.OrchestrationStatus,
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            SerializedInput = withInputsAndOutputs ? state.Input : null,
            SerializedOutput = state.Output,
            SerializedCustomStatus = state.Status,
            FailureDetails = state.FailureDetails is { } f
                ? new TaskFailureDetails(f.ErrorType, f.ErrorMessage, f.StackTrace, null, null)
                : null,
        };
}
