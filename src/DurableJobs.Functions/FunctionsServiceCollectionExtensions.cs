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
    /// poison queue. Storage is <c>AzureWebJobsStorage</c>, as Functions reads it.
    /// </summary>
    public static IServiceCollection AddDurableJobsFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        string connection = configuration[StorageConnection.SettingName] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{StorageConnection.SettingName} is not set.");

        // Registered first so the engine's registrations below keep them: storage needs no emulator start here,
        // and running handlers stop when Functions stops the worker.
        var storage = new StorageConnection();
        storage.Resolve(connection);
        services.TryAddSingleton(storage);
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
        services.TryAddSingleton(_ => new PoisonQueue(
            new QueueServiceClient(connection, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None })
                .GetQueueClient(BatchQueueNames.PoisonOf(BatchQueueNames.From(configuration)))));
        services.AddDurableJobsApi(configuration);
        return services;
    }
}
