using Azure.Core;
using Azure.Storage.Queues;
using DurableJobs.Api;
using DurableJobs.Api.Queue;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Execution;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace DurableJobs.Functions;

/// <summary>DurableJobs in an Azure Functions (isolated worker) app.</summary>
public static class FunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Makes this Functions app a DurableJobs host: the orchestrator, activity, HTTP (<c>/api/batches…</c>) and queue
    /// functions of this library run with the app's handlers (<c>AddHandler</c> on the same builder). Functions
    /// itself plays the engine's role, so no embedded engine is added (do not call <c>AddWorker</c> here); storage
    /// is <c>AzureWebJobsStorage</c>, as Functions reads it: a connection string, or the identity-based settings
    /// the Bicep deployment uses (<c>AzureWebJobsStorage__accountName</c>, <c>__credential</c>, <c>__clientId</c>),
    /// with a <see cref="TokenCredential"/> registered in the container, if any.
    /// </summary>
    /// <exception cref="InvalidOperationException">No storage setting at all.</exception>
    public static DurableJobsBuilder AddFunctionsIntegration(this DurableJobsBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        if (StorageConnection.FromConfiguration(configuration) is null)
        {
            throw new InvalidOperationException(
                $"{StorageConnection.SettingName} is not set: give a connection string, or {StorageConnection.SettingName}__accountName for identity-based access.");
        }

        IServiceCollection services = builder.Services;

        // Replace the defaults AddDurableJobs registered: storage comes from the Functions setting (no emulator is
        // started here), and running handlers stop when Functions stops the worker.
        services.RemoveAll<StorageConnection>();
        services.AddSingleton(sp => StorageConnection.FromConfiguration(configuration, sp.GetService<TokenCredential>())!);
        services.RemoveAll<WorkerShutdown>();
        services.AddSingleton(sp => new WorkerShutdown(sp.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None));
        services.RemoveAll<JobExecutionOptions>();
        services.AddSingleton(sp => new JobExecutionOptions
        {
            TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
            MaxConcurrentBatches = configuration.GetValue("DurableJobs:MaxConcurrentBatches", JobExecutionOptions.DefaultMaxConcurrentBatches),

            // Chunks waiting for a lane handed over from another instance hold one of the host's activity slots each
            // (maxConcurrentActivityFunctions in host.json): keep it well below them.
            MaxLaneHandoverWaits = configuration.GetValue("DurableJobs:MaxLaneHandoverWaits", JobExecutionOptions.DefaultMaxLaneHandoverWaits),
        });

        services.TryAddSingleton<BatchClientFactory>();
        services.TryAddSingleton(sp => new PoisonQueue(
            sp.GetRequiredService<StorageConnection>().CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None })
                .GetQueueClient(BatchQueueNames.PoisonOf(BatchQueueNames.From(configuration)))));
        services.AddDurableJobsApi(configuration);
        return builder;
    }
}
