using System.Diagnostics;
using DurableJobs.Client;
using DurableJobs.Client.Schedules;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Schedules;
using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace DurableJobs.Tools.RecordHistories;

/// <summary>
/// An embedded engine with the built-in handlers on its own task hub, its worker set up to record: every scheduled
/// activity and sub-orchestration keeps its input in the history (<c>IncludeParameters</c>; production histories drop
/// it, and the replay tests compare it), and schedule executions are captured as they run (<see cref="ExecutionCapture"/>).
/// </summary>
internal sealed class RecordingHost : IAsyncDisposable
{
    private readonly IHost host;
    private readonly AzureStorageOrchestrationService reader;

    private RecordingHost(IHost host, AzureStorageOrchestrationService reader, ExecutionCapture schedules)
    {
        this.host = host;
        this.reader = reader;
        Schedules = schedules;
    }

    public BatchClient Batches => host.Services.GetRequiredService<BatchClient>();

    public IScheduleClient ScheduleClient => host.Services.GetRequiredService<IScheduleClient>();

    /// <summary>Executions of schedule instances, captured in the dispatcher.</summary>
    public ExecutionCapture Schedules { get; }

    private DurableTaskClient Durable => host.Services.GetRequiredService<DurableTaskClient>();

    /// <summary>Starts a host on a new task hub of <paramref name="connectionString"/>; <paramref name="settings"/> override the defaults (e.g. <c>DurableJobs:Client:MinLanes</c>).</summary>
    public static async Task<RecordingHost> StartAsync(string connectionString, IReadOnlyDictionary<string, string?> settings)
    {
        string hub = "rec" + Guid.NewGuid().ToString("N")[..12];
        var config = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["DurableJobs:HubName"] = hub,
            ["DurableJobs:PartitionCount"] = "1",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.500",
            ["DurableJobs:Azurite:AutoStart"] = "false",
            ["DurableJobs:CancelPollInterval"] = "00:00:00.250",
        };
        foreach ((string key, string? value) in settings)
        {
            config[key] = value;
        }

        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        var schedules = new ExecutionCapture(ScheduleNames.InstancePrefix);
        builder.Services.AddSingleton(new WorkerConfiguration
        {
            BeforeStart = worker => worker.AddOrchestrationDispatcherMiddleware(schedules.Middleware),

            // Set before anything is submitted to the new hub, so every history recorded here has the inputs.
            AfterStart = worker => worker.TaskOrchestrationDispatcher.IncludeParameters = true,
        });
        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        IHost host = builder.Build();
        await host.StartAsync();

        // A second service on the same hub, for reading histories only (the engine keeps its own to itself).
        var reader = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = hub,
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
        });
        return new RecordingHost(host, reader, schedules);
    }

    /// <summary>Submits <paramref name="request"/> and fails unless it was accepted.</summary>
    public async Task<string> SubmitAsync(Core.Model.BatchRequest request)
    {
        SubmitOutcome outcome = await Batches.SubmitAsync(request);
        if (!outcome.Accepted)
        {
            throw new InvalidOperationException($"Batch {request.BatchId} was refused: {outcome.Validation}");
        }

        return outcome.BatchId!;
    }

    /// <summary>Waits until <paramref name="instanceId"/> has completed (or failed, or was terminated).</summary>
    public async Task WaitForCompletionAsync(string instanceId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            OrchestrationMetadata? metadata = await Durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false);
            if (metadata is { IsCompleted: true })
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{instanceId} did not complete within {timeout.TotalSeconds} s (status {metadata?.RuntimeStatus.ToString() ?? "none"}).");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The batch's view once it has ended.</summary>
    public async Task<BatchView> WaitForBatchAsync(string batchId, TimeSpan timeout)
    {
        await WaitForCompletionAsync(batchId, timeout);
        return (await Batches.GetAsync(batchId))!;
    }

    /// <summary>True when an instance with this id exists.</summary>
    public async Task<bool> ExistsAsync(string instanceId) => await Durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false) is not null;

    /// <summary>The stored history of the latest execution of <paramref name="instanceId"/>, as <c>GetOrchestrationHistoryAsync</c> returns it.</summary>
    public async Task<RecordedInstance> StoredHistoryAsync(string instanceId)
    {
        string json = await reader.GetOrchestrationHistoryAsync(instanceId, executionId: null!);

        // Dates stay the strings the backend wrote: a parse and a write would reformat them.
        using var text = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None };
        JArray history = JArray.Load(text);
        string executionId = history.Children<JObject>()
            .First(e => e.Value<int>(nameof(HistoryEvent.EventType)) == (int)EventType.ExecutionStarted)
            .SelectToken($"{nameof(ExecutionStartedEvent.OrchestrationInstance)}.{nameof(OrchestrationInstance.ExecutionId)}")!.Value<string>()!;
        return new RecordedInstance(instanceId, executionId, history);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        if (host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }

        reader.Dispose();
    }
}
