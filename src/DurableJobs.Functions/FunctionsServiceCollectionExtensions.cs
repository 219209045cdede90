using Azure.Core;
using Azure.Storage.Queues;
using DurableJobs.Api;
using DurableJobs.Api.Queue;
using DurableJobs.Client;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Execution;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace DurableJobs.Functions;

/// <summary>The Functions app's services: the same classes and setting names as the embedded host.</summary>
public static class FunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Registers what every DurableJobs host shares (<c>AddDurableJobs()</c> with the built-in handlers: validation,
    /// limits, table-backed cancel signals shared with embedded hosts on the same hub, the job executor and
    /// activities), but no embedded engine, whose role Functions plays; then <see cref="BatchClientFactory"/>, the
    /// shared API layer and the poison queue. Storage is <c>AzureWebJobsStorage</c>, as Functions reads it: a connection string, or the
    /// identity-based settings the Bicep deployment uses (<c>AzureWebJobsStorage__accountName</c>,
    /// <c>__credential</c>, <c>__clientId</c>); a <see cref="TokenCredential"/> registered in the container, if any, is
    /// used for the latter.
    /// </summary>
    public static IServiceCollection AddDurableJobsFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (StorageConnection.FromConfiguration(configuration) is null)
        {
            throw new InvalidOperationException(
                $"{StorageConnection.SettingName} is not set: give a connection string, or {StorageConnection.SettingName}__accountName for identity-based access.");
        }

        // Registered first so the engine's registrations below keep them: storage needs no emulator start here,
        // and running handlers stop when Functions stops the worker.
        services.TryAddSingleton(sp => StorageConnection.FromConfiguration(configuration, sp.GetService<TokenCredential>())!);
        services.TryAddSingleton(sp => new JobExecutionOptions
        {
            HostStopping = sp.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None,
            TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
            MaxConcurrentBatches = configuration.GetValue("DurableJobs:MaxConcurrentBatches", JobExecutionOptions.DefaultMaxConcurrentBatches),
        });

        // The shared services only: Functions itself plays the engine's role (no worker, no embedded client).
        services.AddDurableJobs().AddBuiltInHandlers();

        services.TryAddSingleton<BatchClientFactory>();
        services.TryAddSingleton(sp => new PoisonQueue(
            sp.GetRequiredService<StorageConnection>().CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None })
                .GetQueueClient(BatchQueueNames.PoisonOf(BatchQueueNames.From(configuration)))));
        services.AddDurableJobsApi(configuration);
        return services;
    }
}
