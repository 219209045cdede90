using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Validation;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Signals;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Orchestrators;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Hosting;

/// <summary>Registers the embedded engine and the batch client.</summary>
public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// Adds the engine (a hosted service), the <see cref="DurableTaskClient"/> over it, cancel signals in table
    /// storage, the job handlers (built-ins unless a <see cref="JobHandlerRegistry"/> is already registered)
    /// and <see cref="BatchClient"/>, all configured from <paramref name="configuration"/>.
    /// </summary>
    public static IServiceCollection AddDurableJobsEngine(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<EngineOptions>().Bind(configuration.GetSection(EngineOptions.SectionName));
        services.AddOptions<AzuriteOptions>().Bind(configuration.GetSection(AzuriteOptions.SectionName));
        services.AddOptions<BatchLimits>().Bind(configuration.GetSection(BatchLimits.SectionName));
        services.AddOptions<BatchClientOptions>().Bind(configuration.GetSection(BatchClientOptions.SectionName));

        services.TryAddSingleton(JobHandlerRegistry.CreateWithBuiltIns());
        services.TryAddSingleton(WorkerIdentity.CurrentProcess);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageConnection>();
        services.TryAddSingleton<WorkerShutdown>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<BatchLimits>>().Value);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<BatchClientOptions>>().Value);
        services.TryAddSingleton(sp => new JobExecutionOptions
        {
            HostStopping = sp.GetRequiredService<WorkerShutdown>().Token,
            TimeProvider = sp.GetRequiredService<TimeProvider>(),
            MaxConcurrentBatches = sp.GetRequiredService<IOptions<EngineOptions>>().Value.MaxConcurrentBatches,
        });

        services.TryAddSingleton<IBatchCancellationSignals>(sp =>
        {
            EngineOptions engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            TableClient table = sp.GetRequiredService<StorageConnection>().CreateTableClient($"{engine.HubName}Signals");
            return new TableBatchCancellationSignals(table, engine.CancelPollInterval, sp.GetRequiredService<ILogger<TableBatchCancellationSignals>>());
        });

        services.TryAddSingleton<IBatchStore>(sp =>
        {
            EngineOptions engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            StorageConnection storage = sp.GetRequiredService<StorageConnection>();
            return new AzureBatchStore(
                storage.CreateBlobContainerClient($"{engine.HubName.ToLowerInvariant()}-batches"),
                storage.CreateTableClient($"{engine.HubName}Results"));
        });

        services.TryAddSingleton<JobChunkExecutor>();
        services.TryAddSingleton<BatchValidator>();
        services.TryAddTransient<BatchOrchestrator>();
        services.TryAddTransient<ExecuteJobsActivity>();
        services.TryAddTransient<RecordUnstartedActivity>();
        services.TryAddSingleton(_ =>
        {
            var registry = new DurableTaskRegistry();
            registry.AddOrchestrator<BatchOrchestrator>(BatchNames.Orchestrator);
            registry.AddOrchestrator<BatchOrchestrator>(BatchNames.PartOrchestrator);
            registry.AddActivity<ExecuteJobsActivity>(BatchNames.ExecuteJobsActivity);
            registry.AddActivity<RecordUnstartedActivity>(BatchNames.RecordUnstartedActivity);
            return registry;
        });

        services.TryAddSingleton<DurableJobsEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableJobsEngine>());
        services.TryAddSingleton<DurableTaskClient>(sp => sp.GetRequiredService<DurableJobsEngine>().Client);
        services.TryAddSingleton<BatchClient>();
        return services;
    }
}
