using DurableJobs.Client;
using DurableJobs.Client.Hooks;
using DurableJobs.Client.Schedules;
using DurableJobs.Engine.Retention;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Hooks;
using DurableJobs.Orchestration.Orchestrators;
using DurableJobs.Orchestration.Schedules;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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
            registry.AddActivity<SignalCancelActivity>(BatchNames.SignalCancelActivity);
            registry.AddOrchestrator<ScheduleOrchestrator>(ScheduleNames.Orchestrator);
            registry.AddActivity<StartScheduledBatchActivity>(ScheduleNames.StartBatchActivity);
            registry.AddActivity<FindRunningBatchesActivity>(ScheduleNames.RunningBatchesActivity);
            registry.AddOrchestrator<BatchHookOrchestrator>(HookNames.Orchestrator);
            registry.AddActivity<DeliverBatchHookActivity>(HookNames.DeliverActivity);
            return registry;
        });

        services.TryAddSingleton<DurableJobsEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableJobsEngine>());
        services.TryAddSingleton<DurableTaskClient>(sp => sp.GetRequiredService<DurableJobsEngine>().Client);
        services.TryAddSingleton(sp => BatchClient.Create(sp.GetRequiredService<DurableTaskClient>(), sp));
        services.TryAddSingleton(sp => new ScheduleClient(
            sp.GetRequiredService<DurableTaskClient>(), sp.GetRequiredService<BatchClient>(), sp.GetRequiredService<Orchestration.Schedules.ScheduleValidator>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.TryAddSingleton<IScheduleClient>(sp => sp.GetRequiredService<ScheduleClient>());
        services.AddHostedService(sp => new RetentionService(
            sp,
            sp.GetRequiredService<RetentionSweeper>(),
            sp.GetRequiredService<IOptions<EngineOptions>>().Value.RunWorker,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RetentionService>>()));
        services.TryAddTransient<StartScheduledBatchActivity>();
        services.TryAddTransient<FindRunningBatchesActivity>();
        services.TryAddTransient<DeliverBatchHookActivity>();
        return services;
    }
}
