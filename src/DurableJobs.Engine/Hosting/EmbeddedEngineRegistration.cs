using DurableJobs.Client;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Orchestrators;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DurableJobs.Engine.Hosting;

/// <summary>The embedded engine's registrations, on top of what every host shares.</summary>
internal static class EmbeddedEngineRegistration
{
    /// <summary>
    /// The embedded engine (a hosted service running Durable Task Core on Azure Storage, starting Azurite when the
    /// storage is development storage), the <see cref="DurableTaskClient"/> over it and <see cref="BatchClient"/>.
    /// </summary>
    public static IServiceCollection AddEmbeddedEngine(this IServiceCollection services)
    {
        // Once, whichever role (worker, client) asked first.
        if (services.Any(d => d.ServiceType == typeof(DurableJobsEngine)))
        {
            return services;
        }

        services.AddDurableJobsShared();
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
        services.TryAddSingleton(sp => BatchClient.Create(sp.GetRequiredService<DurableTaskClient>(), sp));
        return services;
    }
}
