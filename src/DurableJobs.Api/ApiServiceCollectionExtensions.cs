using DurableJobs.Api.Http;
using DurableJobs.Api.Queue;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DurableJobs.Api;

/// <summary>Registers the shared API layer.</summary>
public static class ApiServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="BatchHttpApi"/>, the queue intake (<see cref="BatchQueueIntake"/>) and <see cref="ApiOptions"/>
    /// (bound from <c>DurableJobs:Api</c>). <see cref="Core.Validation.BatchLimits"/> must be registered by the host.
    /// </summary>
    public static IServiceCollection AddDurableJobsApi(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.SectionName));
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<ApiOptions>>().Value);
        services.TryAddSingleton<BatchHttpApi>();
        services.TryAddSingleton<ScheduleHttpApi>();
        services.TryAddSingleton<LimitHttpApi>();
        services.TryAddSingleton<LimitTimelineRecorder>();
        services.TryAddSingleton<BatchQueueMessageProcessor>();
        services.TryAddSingleton<BatchQueueIntake>();
        return services;
    }
}
