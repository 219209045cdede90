using Azure.Data.Tables;
using DurableJobs.Client;
using DurableJobs.Client.Hooks;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Hooks;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Validation;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Hooks;
using DurableJobs.Engine.Retention;
using DurableJobs.Engine.Limits;
using DurableJobs.Engine.Signals;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Hooks;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Orchestrators;
using DurableJobs.Orchestration.Schedules;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The registrations behind <see cref="DurableJobsBuilder"/> that every host shares (the embedded engine's and the
/// Azure Functions app's); the embedded engine adds its own (<c>AddEmbeddedEngine</c>, in DurableJobs.Engine). Options
/// bind from the container's <see cref="IConfiguration"/>, when it has one.
/// </summary>
internal static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// What every host needs, whichever engine runs the orchestrations: options and limits, the handler registry,
    /// validation, table-backed cancel signals (shared by every host on the hub), the batch store, the job executor,
    /// the orchestrator and the activities.
    /// </summary>
    public static IServiceCollection AddDurableJobsShared(this IServiceCollection services)
    {
        BindIfConfigured<AzuriteOptions>(services, AzuriteOptions.SectionName);
        BindIfConfigured<BatchLimits>(services, BatchLimits.SectionName);
        BindIfConfigured<BatchClientOptions>(services, BatchClientOptions.SectionName);
        BindIfConfigured<HookOptions>(services, HookOptions.SectionName);
        BindIfConfigured<RetentionOptions>(services, RetentionOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidation>());

        services.TryAddSingleton(new JobHandlerRegistry());
        services.TryAddSingleton(WorkerIdentity.CurrentProcess);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => StorageConnections.Resolve(sp, chosen: null));
        services.TryAddSingleton<WorkerShutdown>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<BatchLimits>>().Value);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<BatchClientOptions>>().Value);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<HookOptions>>().Value);
        services.TryAddSingleton<WebhookSender>();
        services.TryAddSingleton<IHookQueue, StorageHookQueue>();
        services.TryAddSingleton(sp =>
        {
            EngineOptions engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            return new JobExecutionOptions
            {
                TimeProvider = sp.GetRequiredService<TimeProvider>(),
                MaxConcurrentBatches = engine.MaxConcurrentBatches,
                MaxLaneHandoverWaits = engine.MaxConcurrentActivityWorkItems / 4,
            };
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

        services.TryAddSingleton(sp =>
        {
            EngineOptions engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            return new RetentionSweeper(
                sp.GetRequiredService<IOptions<RetentionOptions>>().Value,
                sp.GetRequiredService<StorageConnection>().CreateBlobContainerClient($"{engine.HubName.ToLowerInvariant()}-batches"),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<RetentionSweeper>>());
        });

        services.TryAddSingleton<IJobProgressStore>(sp =>
        {
            EngineOptions engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            return new AzureJobProgressStore(sp.GetRequiredService<StorageConnection>().CreateTableClient($"{engine.HubName}Results"));
        });
        // Named limits: one ETag-guarded row per limit in {hub}Limits, leased by each worker process in chunks.
        services.TryAddSingleton(sp => LimitConfiguration.Bind(sp, new LimitCatalog()));
        services.TryAddSingleton<ILimitStore>(sp => new TableLimitStore(
            sp.GetRequiredService<StorageConnection>().CreateTableClient($"{sp.GetRequiredService<IOptions<EngineOptions>>().Value.HubName}Limits")));
        services.TryAddSingleton(sp => new LimitGates(
            sp.GetRequiredService<ILimitStore>(),
            sp.GetRequiredService<LimitCatalog>(),
            sp.GetRequiredService<WorkerIdentity>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));

        services.TryAddSingleton<JobChunkExecutor>();
        services.TryAddSingleton<BatchValidator>();
        services.TryAddSingleton<ScheduleValidator>();
        services.TryAddTransient<BatchOrchestrator>();
        services.TryAddTransient<ScheduleOrchestrator>();
        services.TryAddTransient<ExecuteJobsActivity>();
        services.TryAddTransient<RecordUnstartedActivity>();
        services.TryAddTransient<SignalCancelActivity>();
        services.TryAddTransient<BatchHookOrchestrator>();
        return services;
    }

    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/> of the container's configuration, if it has one.</summary>
    public static OptionsBuilder<TOptions> BindIfConfigured<TOptions>(IServiceCollection services, string section)
        where TOptions : class
    {
        // Once per options type, however many times the builder is asked (the marker says it is done).
        if (!services.Any(d => d.ServiceType == typeof(SectionBound<TOptions>)))
        {
            services.AddSingleton(new SectionBound<TOptions>());
            services.AddSingleton<IConfigureOptions<TOptions>>(sp =>
                new ConfigureOptions<TOptions>(options => sp.GetService<IConfiguration>()?.GetSection(section).Bind(options)));
        }

        return services.AddOptions<TOptions>();
    }

    /// <summary>Fails the start on a retention setting out of range, naming it.</summary>
    private sealed class RetentionOptionsValidation : IValidateOptions<RetentionOptions>
    {
        public ValidateOptionsResult Validate(string? name, RetentionOptions options) =>
            options.Validate() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
    }

    /// <summary>Marks <typeparamref name="TOptions"/> as bound to configuration already.</summary>
    private sealed class SectionBound<TOptions>;
}
