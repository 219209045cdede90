using DurableJobs.Core.Handlers;
using DurableJobs.Engine.Hosting;
using DurableJobs.Engine.Limits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DurableJobs;

/// <summary>The entry point of DurableJobs in an app's container: <c>services.AddDurableJobs(...)</c>.</summary>
public static class DurableJobsServiceCollectionExtensions
{
    /// <summary>
    /// Adds DurableJobs and returns the builder that says what this app does with it: which handlers it runs
    /// (<see cref="DurableJobsBuilder.AddHandler{THandler}(string)"/>), which storage it uses, and whether it runs jobs
    /// (<c>AddWorker()</c>), submits them (<c>AddClient()</c>), or both (those two come with DurableJobs.Engine; a Functions
    /// app calls <c>AddFunctionsIntegration(...)</c> from DurableJobs.Functions instead).
    /// Options bind from the configuration section <c>DurableJobs</c> (and its <c>Limits</c>, <c>Client</c> and
    /// <c>Azurite</c> children) when the container has an <see cref="IConfiguration"/>, then <paramref name="configure"/>
    /// runs; both are validated when the host starts, with messages that name the setting.
    /// </summary>
    public static DurableJobsBuilder AddDurableJobs(this IServiceCollection services, Action<EngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new DurableJobsBuilder(services);
        OptionsBuilder<EngineOptions> options = EngineServiceCollectionExtensions.BindIfConfigured<EngineOptions>(services, EngineOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // An app that only adds a client runs no jobs, whatever DurableJobs:RunWorker says; a worker app can be turned
        // into a client-only process by that setting (the durablejobs host's --api-only does).
        options.PostConfigure(o => o.RunWorker &= builder.RunsWorker);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidation>());
        services.TryAddSingleton(builder.Handlers);
        services.TryAddSingleton(sp => LimitConfiguration.Bind(sp, builder.Limits));
        services.AddDurableJobsShared();
        return builder;
    }

    /// <summary>Turns <see cref="EngineOptions"/>' checks into start-time validation failures.</summary>
    private sealed class EngineOptionsValidation : IValidateOptions<EngineOptions>
    {
        public ValidateOptionsResult Validate(string? name, EngineOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (InvalidOperationException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }
        }
    }
}
