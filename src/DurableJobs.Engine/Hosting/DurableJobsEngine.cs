using DurableJobs.Engine.Client;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Shims;
using DurableJobs.Orchestration.Execution;
using DurableTask.AzureStorage;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The embedded durable engine: starts Azurite when needed, creates the task hub, and runs a Durable Task
/// Core <see cref="TaskHubWorker"/> on Azure Storage with the shared orchestrator and activities adapted by the
/// SDK's shims. On stop it first signals running jobs (their tokens), then releases its work items, so
/// unfinished chunks are picked up by the next live worker.
/// </summary>
internal sealed class DurableJobsEngine : IHostedService, IAsyncDisposable
{
    private readonly EngineOptions options;
    private readonly AzuriteOptions azuriteOptions;
    private readonly StorageConnection storage;
    private readonly WorkerShutdown shutdown;
    private readonly DurableTaskRegistry registry;
    private readonly IServiceProvider services;
    private readonly ILoggerFactory loggerFactory;
    private readonly ILogger logger;
    private AzuriteProcess? azurite;
    private AzureStorageOrchestrationService? service;
    private TaskHubWorker? worker;
    private EngineDurableTaskClient? client;

    /// <summary>Creates the engine; <see cref="StartAsync"/> brings it up.</summary>
    public DurableJobsEngine(
        IOptions<EngineOptions> options,
        IOptions<AzuriteOptions> azuriteOptions,
        StorageConnection storage,
        WorkerShutdown shutdown,
        DurableTaskRegistry registry,
        IServiceProvider services,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(azuriteOptions);
        this.options = options.Value;
        this.azuriteOptions = azuriteOptions.Value;
        this.storage = storage;
        this.shutdown = shutdown;
        this.registry = registry;
        this.services = services;
        this.loggerFactory = loggerFactory;
        logger = loggerFactory.CreateLogger<DurableJobsEngine>();
    }

    /// <summary>The converter every input, output and event goes through (the SDK's JSON converter).</summary>
    public static DataConverter Converter { get; } = JsonDataConverter.Default;

    /// <summary>
    /// The SDK shims the worker runs the orchestrator and activities through; the replay tests use the same, so they
    /// replay recorded histories exactly as this engine would.
    /// </summary>
    internal static DurableTaskShimFactory CreateShims(ILoggerFactory loggerFactory) =>
        new(new DurableTaskWorkerOptions { DataConverter = Converter }, loggerFactory);

    /// <summary>The client over this engine's task hub. Available once started.</summary>
    public EngineDurableTaskClient Client => client ?? throw new InvalidOperationException("The engine has not started.");

    /// <summary>The Azurite this engine started, if it started one.</summary>
    public AzuriteProcess? Azurite => azurite;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        await EnsureEmulatorAsync(cancellationToken).ConfigureAwait(false);

        var settings = CreateServiceSettings(
            options,
            storage.CreateDurableTaskProvider(),
            loggerFactory,
            // The lease owner: the container's worker identity, so two engines in one process (tests, a side-by-side
            // host) own partitions as two workers instead of both believing they own the same one (split brain).
            (services.GetService<WorkerIdentity>() ?? WorkerIdentity.CurrentProcess).Name);

        service = new AzureStorageOrchestrationService(settings);
        await service.CreateIfNotExistsAsync().ConfigureAwait(false);
        client = new EngineDurableTaskClient(service, Converter);

        if (!options.RunWorker)
        {
            logger.LogInformation("Task hub {Hub} ready (client only: this process runs no jobs)", options.HubName);
            return;
        }

        DurableTaskShimFactory shims = CreateShims(loggerFactory);
        worker = new TaskHubWorker(
            new CompletionRetryingService(
                service,
                shutdown.Token,
                loggerFactory.CreateLogger<CompletionRetryingService>(),
                options.WorkItemQueueVisibilityTimeout / 4,
                ownership: new PartitionOwnership(storage.CreateTableClient($"{options.HubName}Partitions"), options.HubName, options.PartitionCount, settings.WorkerId)),
            loggerFactory);
        foreach ((TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory) in registry.GetOrchestrators())
        {
            worker.AddTaskOrchestrations(new ShimOrchestrationCreator(name, factory, shims, services));
        }

        foreach ((TaskName name, Func<IServiceProvider, ITaskActivity> factory) in registry.GetActivities())
        {
            worker.AddTaskActivities(new ShimActivityCreator(name, factory, shims, services));
        }

        WorkerConfiguration? configuration = services.GetService<WorkerConfiguration>();
        configuration?.BeforeStart?.Invoke(worker);
        // Beside the start's storage round trips, not before them: a process that takes a batch at once runs its first
        // episode on code that is already compiled (see WarmUp).
        _ = Task.Run(
            async () =>
            {
                WarmUp(registry, services, logger);
                await WarmUpReadsAsync(services, logger, shutdown.Token).ConfigureAwait(false);
            },
            CancellationToken.None);
        await worker.StartAsync().ConfigureAwait(false);
        configuration?.AfterStart?.Invoke(worker);
        logger.LogInformation(
            "Worker {Worker} started on task hub {Hub}: {Partitions} partitions, {Activities} concurrent activities",
            settings.WorkerId, options.HubName, options.PartitionCount, options.MaxConcurrentActivityWorkItems);
    }

    /// <summary>Durable Task's settings for this engine's hub: our lease and visibility timings, no app lease.</summary>
    internal static AzureStorageOrchestrationServiceSettings CreateServiceSettings(EngineOptions options, StorageAccountClientProvider provider, ILoggerFactory loggerFactory, string workerId) =>
        new()
        {
            TaskHubName = options.HubName,
            StorageAccountClientProvider = provider,
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivityWorkItems,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrationWorkItems,
            ExtendedSessionsEnabled = options.ExtendedSessions,

            // Ours, not Durable Task's (30 s leases, 5 min visibility): a killed worker's work moves in seconds, not minutes.
            LeaseInterval = options.LeaseInterval,
            LeaseRenewInterval = options.LeaseRenewInterval,
            LeaseAcquireInterval = options.LeaseAcquireInterval,
            WorkItemQueueVisibilityTimeout = options.WorkItemQueueVisibilityTimeout,
            ControlQueueVisibilityTimeout = options.ControlQueueVisibilityTimeout,
            LoggerFactory = loggerFactory,
            // Durable Task's app lease hands a hub to one app name (WEBSITE_SITE_NAME or DTFX_APP_NAME) at a time, for
            // blue-green deployments: a worker started under another name takes the hub over and the others stop. Every
            // DurableJobs worker of a hub shares its work whatever its environment is named, and the lease sat in front of
            // the partition manager: a fresh process listened on its partitions 0.35 s after it started with the lease
            // (a container check, then a blob lease), 0.14 s without it (the benchmark's fresh worker on the 2-core VM).
            UseAppLease = false,
            WorkerId = workerId,
        };

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Process level first: every running handler sees its token now, and its chunk is abandoned for redelivery.
        shutdown.Signal();
        if (worker is not null)
        {
            Task stop = worker.StopAsync(isForced: false);
            if (await Task.WhenAny(stop, Task.Delay(options.StopTimeout, CancellationToken.None)).ConfigureAwait(false) != stop)
            {
                logger.LogWarning("Work items were still being released after {Seconds} s; stopping anyway (they return to the queue after their visibility timeout)", options.StopTimeout.TotalSeconds);
                _ = stop.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            }

            worker = null;
        }

        logger.LogInformation("Engine stopped");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        service?.Dispose();
        service = null;
        if (azurite is not null)
        {
            await azurite.DisposeAsync().ConfigureAwait(false);
            azurite = null;
        }
    }

    /// <summary>
    /// Runs the batch orchestrator's first episode once, in memory, for a batch that does not exist: Durable Task's
    /// executor, the SDK shim, the orchestrator, the chunk planner and the JSON contracts of its input and of the chunks
    /// it schedules get compiled now instead of on a fresh process's first batch, where they took 0.3–0.65 s of its
    /// submit → first job on a loaded 2-core machine. No storage is touched and nothing is logged (a null logger factory
    /// behind the shim): the episode's actions are only read.
    /// </summary>
    /// <returns>Whether it ran; a failure only costs the first batch its compile time, so it is logged and swallowed.</returns>
    internal static bool WarmUp(DurableTaskRegistry registry, IServiceProvider services, ILogger logger)
    {
        try
        {
            (TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory) = registry.GetOrchestrators().First(o => o.Key.Name == BatchNames.Orchestrator);
            TaskOrchestration orchestration = new ShimOrchestrationCreator(name, factory, CreateShims(NullLoggerFactory.Instance), services).Create();
            var input = new BatchOrchestrationInput
            {
                BatchId = "warm-up",
                JobsKey = "warm-up",
                JobCount = 1_000,
                MaxParallel = 100,
                DeadlineSeconds = 3_600,
                // The chunking a new batch gets, from the client that gives it, so the warm-up replays the same rules.
                Chunking = new DurableJobs.Client.BatchClientOptions().ToChunking(),
            };
            var state = new OrchestrationRuntimeState();
            state.AddEvent(new OrchestratorStartedEvent(-1));
            state.AddEvent(new ExecutionStartedEvent(-1, Converter.Serialize(input))
            {
                Name = BatchNames.Orchestrator,
                OrchestrationInstance = new OrchestrationInstance { InstanceId = "warm-up", ExecutionId = "warm-up" },
            });
            OrchestratorExecutionResult result = new TaskOrchestrationExecutor(state, orchestration, BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.SerializeExceptions).Execute();

            // What the activities will read first: the chunks' JSON contract.
            var chunks = new List<(int Id, JobChunk Chunk)>();
            foreach (ScheduleTaskOrchestratorAction scheduled in result.Actions.OfType<ScheduleTaskOrchestratorAction>().Where(a => a.Name == BatchNames.ExecuteJobsActivity))
            {
                // As the SDK's activity shim reads it: Durable Task passes activity inputs as a one-element JSON array.
                string raw = scheduled.Input ?? string.Empty;
                chunks.Add((scheduled.Id, Converter.Deserialize<JobChunk>(raw.StartsWith('[') && raw.EndsWith(']') ? raw[1..^1] : raw)!));
            }

            return chunks.Count > 0 && WarmUpSecondEpisode(name, factory, services, state, result, chunks[0]);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Warm-up of the batch orchestrator failed ({Error}); the first batch compiles it instead", ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The episode after the first chunk's result: a replay of the first episode, the chunk summary's JSON contract, the
    /// planner learning job durations and the chunks it grants then. On a fresh process under load these took most of
    /// a second the first time (the lanes' slots sat idle for it right after their first chunks).
    /// </summary>
    private static bool WarmUpSecondEpisode(TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory, IServiceProvider services,
        OrchestrationRuntimeState first, OrchestratorExecutionResult firstResult, (int Id, JobChunk Chunk) finished)
    {
        var state = new OrchestrationRuntimeState();
        foreach (HistoryEvent past in first.Events)
        {
            state.AddEvent(past);
        }

        foreach (OrchestratorAction action in firstResult.Actions)
        {
            HistoryEvent? recorded = action switch
            {
                ScheduleTaskOrchestratorAction task => new TaskScheduledEvent(task.Id) { Name = task.Name, Version = task.Version, Input = task.Input },
                CreateTimerOrchestratorAction timer => new TimerCreatedEvent(timer.Id) { FireAt = timer.FireAt },
                _ => null,
            };
            if (recorded is null)
            {
                // An action this warm-up does not know how to record: the first episode is warm, the rest is compiled
                // by the first batch (the warm-up test fails on this, so the warm-up is taught the new action).
                return false;
            }

            state.AddEvent(recorded);
        }

        state.AddEvent(new OrchestratorCompletedEvent(-1));
        state.AddEvent(new OrchestratorStartedEvent(-1));
        var summary = new ChunkSummary { Succeeded = finished.Chunk.Count, BusyMilliseconds = finished.Chunk.Count * 10.0 };
        state.AddEvent(new TaskCompletedEvent(-1, finished.Id, Converter.Serialize(summary)));
        TaskOrchestration orchestration = new ShimOrchestrationCreator(name, factory, CreateShims(NullLoggerFactory.Instance), services).Create();
        OrchestratorExecutionResult result = new TaskOrchestrationExecutor(state, orchestration, BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.SerializeExceptions).Execute();
        return result.Actions.OfType<ScheduleTaskOrchestratorAction>().Any(a => a.Name == BatchNames.ExecuteJobsActivity);
    }

    /// <summary>
    /// The reads a chunk makes before its first job starts, for a batch that does not exist: the cancel signal's row,
    /// the job layout's blob (missing: the failure is the point), the recorded results and the checkpoints. On a fresh
    /// process they took 0.37 s of the first chunk's start (activity fetched → first job), against tens of
    /// milliseconds warm: each storage client's first request compiles its pipeline. Beside the worker's start, like
    /// <see cref="WarmUp"/>; four requests per process start, none of them a write.
    /// </summary>
    /// <returns>How many of the four reads answered (a missing layout counts: the request was made and answered).</returns>
    internal static async Task<int> WarmUpReadsAsync(IServiceProvider services, ILogger logger, CancellationToken cancellationToken)
    {
        const string none = "warm-up";
        int answered = 0;
        async Task ReadAsync(Func<Task> read, bool failureIsTheAnswer = false)
        {
            try
            {
                await read().ConfigureAwait(false);
                answered++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (failureIsTheAnswer && ex is Azure.RequestFailedException { Status: 404 })
                {
                    answered++;
                    return;
                }

                logger.LogDebug(ex, "A warm-up read failed ({Error}); the first chunk pays for its start instead", ex.Message);
            }
        }

        if (services.GetService<IBatchCancellationSignals>() is { } signals)
        {
            await ReadAsync(async () => (await signals.WatchAsync(none, cancellationToken).ConfigureAwait(false)).Dispose()).ConfigureAwait(false);
        }

        if (services.GetService<IBatchStore>() is { } store)
        {
            await ReadAsync(() => store.ReadJobsAsync(none, none, 0, 1, cancellationToken), failureIsTheAnswer: true).ConfigureAwait(false);
            await ReadAsync(() => store.GetRecordedAsync(none, 0, 1, cancellationToken)).ConfigureAwait(false);
        }

        if (services.GetService<IJobProgressStore>() is { } progress)
        {
            await ReadAsync(() => progress.ReadCheckpointsAsync(none, 0, 1, cancellationToken)).ConfigureAwait(false);
        }

        return answered;
    }

    private async Task EnsureEmulatorAsync(CancellationToken cancellationToken)
    {
        // The connection was decided when the container built it; only an emulator one needs something running.
        if (storage.EmulatorBlobPort is not { } blobPort)
        {
            return;
        }

        if (await AzuriteProcess.AnswersAsync(blobPort, cancellationToken).ConfigureAwait(false))
        {
            logger.LogInformation("Using the storage emulator already listening on 127.0.0.1:{Port}", blobPort);
        }
        else if (azuriteOptions.AutoStart)
        {
            azurite = await AzuriteProcess.StartAsync(azuriteOptions, loggerFactory.CreateLogger<AzuriteProcess>(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new InvalidOperationException(
                $"{StorageConnection.SettingName} is development storage but nothing answers on 127.0.0.1:{blobPort} and DurableJobs:Azurite:AutoStart is false.");
        }
    }
}
