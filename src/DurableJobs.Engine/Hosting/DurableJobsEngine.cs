using DurableJobs.Engine.Client;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Shims;
using DurableJobs.Orchestration.Execution;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The embedded durable engine: starts Azurite when needed, creates the task hub, and runs a Durable Task
/// Core <see cref="TaskHubWorker"/> on Azure Storage with the shared orchestrator and activities adapted by the
/// SDK's shims. On stop it first signals running jobs (their tokens), then releases its work items, so
/// unfinished chunks are picked up by the next live worker.
/// </summary>
public sealed class DurableJobsEngine : IHostedService, IAsyncDisposable
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
        await ResolveConnectionAsync(cancellationToken).ConfigureAwait(false);

        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.HubName,
            StorageAccountClientProvider = storage.CreateDurableTaskProvider(),
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
            // The lease owner: the container's worker identity, so two engines in one process (tests, a side-by-side
            // host) own partitions as two workers instead of both believing they own the same one (split brain).
            WorkerId = (services.GetService<WorkerIdentity>() ?? WorkerIdentity.CurrentProcess).Name,
        };

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
            new CompletionRetryingService(service, shutdown.Token, loggerFactory.CreateLogger<CompletionRetryingService>(), options.WorkItemQueueVisibilityTimeout / 4),
            loggerFactory);
        foreach ((TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory) in registry.GetOrchestrators())
        {
            worker.AddTaskOrchestrations(new ShimOrchestrationCreator(name, factory, shims, services));
        }

        foreach ((TaskName name, Func<IServiceProvider, ITaskActivity> factory) in registry.GetActivities())
        {
            worker.AddTaskActivities(new ShimActivityCreator(name, factory, shims, services));
        }

        await worker.StartAsync().ConfigureAwait(false);
        logger.LogInformation(
            "Worker {Worker} started on task hub {Hub}: {Partitions} partitions, {Activities} concurrent activities",
            settings.WorkerId, options.HubName, options.PartitionCount, options.MaxConcurrentActivityWorkItems);
    }

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

    private async Task ResolveConnectionAsync(CancellationToken cancellationToken)
    {
        // Given by the app (UseAzureStorage, UseAzurite), else the AzureWebJobsStorage setting, else the emulator.
        StorageConnection? configured = storage.IsResolved ? storage : (services.GetService<IConfiguration>() is { } configuration ? StorageConnection.FromConfiguration(configuration) : null);
        if (configured is { Endpoints: { } endpoints })
        {
            storage.Resolve(endpoints);
            return;
        }

        string connection = configured?.ConnectionString ?? DevelopmentStorage.Shorthand;
        if (!DevelopmentStorage.IsShorthand(connection))
        {
            storage.Resolve(connection);
            return;
        }

        if (await AzuriteProcess.AnswersAsync(azuriteOptions.BlobPort, cancellationToken).ConfigureAwait(false))
        {
            logger.LogInformation("Using the storage emulator already listening on 127.0.0.1:{Port}", azuriteOptions.BlobPort);
        }
        else if (azuriteOptions.AutoStart)
        {
            azurite = await AzuriteProcess.StartAsync(azuriteOptions, loggerFactory.CreateLogger<AzuriteProcess>(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            throw new InvalidOperationException(
                $"{StorageConnection.SettingName} is development storage but nothing answers on 127.0.0.1:{azuriteOptions.BlobPort} and DurableJobs:Azurite:AutoStart is false.");
        }

        storage.Resolve(DevelopmentStorage.ConnectionString(azuriteOptions.BlobPort));
    }
}
