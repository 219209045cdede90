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
    /// Registers exactly what the embedded engine registers (handlers, validation, limits, table-backed cancel
    /// signals shared with embedded hosts on the same hub, the job executor and activities) minus the engine
    /// itself, whose role Functions plays; then <see cref="BatchClientFactory"/>, the shared API layer and the
    /// poison queue. Storage is <c>AzureWebJobsStorage</c>, as Functions reads it: a connection string, or the
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

        var before = new HashSet<ServiceDescriptor>(services);
        services.AddDurableJobsEngine(configuration);
        Type[] engineOnly = [typeof(IHostedService), typeof(DurableJobsEngine), typeof(DurableTaskClient), typeof(BatchClient), typeof(DurableTaskRegistry)];
        foreach (ServiceDescriptor added in services.Where(d => !before.Contains(d) && engineOnly.Contains(d.ServiceType)).ToList())
        {
            services.Remove(added);
        }

        services.TryAddSingleton<BatchClientFactory>();
        services.TryAddSingleton(sp => new PoisonQueue(
            sp.GetRequiredService<StorageConnection>().CreateQueueServiceClient(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None })
                .GetQueueClient(BatchQueueNames.PoisonOf(BatchQueueNames.From(configuration)))));
        services.AddDurableJobsApi(configuration);
        return services;
    }
}
