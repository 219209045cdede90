using Azure.Core;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DurableJobs;

/// <summary>
/// Says what an app does with DurableJobs, fluently: its job handlers, its storage, and its roles. Returned by
/// <see cref="DurableJobsServiceCollectionExtensions.AddDurableJobs"/>. The roles come with the host's package: the
/// embedded engine's <c>AddWorker()</c> and <c>AddClient()</c> (DurableJobs.Engine), or Azure Functions'
/// <c>AddFunctionsIntegration(...)</c> (DurableJobs.Functions), so a Functions app carries no Durable Task Core hosting.
/// </summary>
public sealed class DurableJobsBuilder
{
    internal DurableJobsBuilder(IServiceCollection services)
    {
        Services = services;
    }

    /// <summary>The app's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The job types this app runs (filled by the <c>AddHandler</c> calls).</summary>
    internal JobHandlerRegistry Handlers { get; } = new();

    /// <summary>The named limits declared in code and the job types registered with limits.</summary>
    internal LimitCatalog Limits { get; } = new();

    /// <summary>True once the engine's <c>AddWorker()</c> was called.</summary>
    internal bool RunsWorker { get; set; }

    /// <summary>
    /// Runs jobs of <paramref name="type"/> with <typeparamref name="THandler"/>, an <see cref="IJobHandler"/> or an
    /// <see cref="IJobHandler{TPayload, TResult}"/>. It is created from a dependency-injection scope per attempt
    /// (registered as scoped unless the app registered it itself), so its constructor can take scoped services.
    /// </summary>
    public DurableJobsBuilder AddHandler<THandler>(string type)
        where THandler : class
    {
        Handlers.Add<THandler>(type);
        Services.TryAddScoped<THandler>();
        return this;
    }

    /// <summary>
    /// Runs jobs of <paramref name="type"/> with <typeparamref name="THandler"/> (see <see cref="AddHandler{THandler}(string)"/>),
    /// each job holding every named limit of <paramref name="limits"/> while its handler runs, across every batch and
    /// worker on the task hub. Each limit must be declared (<see cref="AddLimit"/> or <c>DurableJobs:NamedLimits:{name}</c>).
    /// </summary>
    public DurableJobsBuilder AddHandler<THandler>(string type, params string[] limits)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(limits);
        AddHandler<THandler>(type);
        Limits.MapType(type, limits);
        return this;
    }

    /// <summary>
    /// Declares the named limit <paramref name="name"/>: at most <paramref name="maxConcurrent"/> jobs holding it at
    /// once and at most <paramref name="ratePerSecond"/> starts a second in the long run (a token bucket of
    /// <paramref name="burst"/> tokens, by default one second's worth), across every batch and worker on the task hub.
    /// Job types take it through <see cref="AddHandler{THandler}(string, string[])"/> or a request's <c>limits</c>.
    /// </summary>
    public DurableJobsBuilder AddLimit(string name, int? maxConcurrent = null, double? ratePerSecond = null, double? burst = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Limits.Declare(name, new LimitSettings { MaxConcurrent = maxConcurrent, RatePerSecond = ratePerSecond, Burst = burst });
        return this;
    }

    /// <summary>Runs jobs of <paramref name="type"/> with one shared, thread-safe <paramref name="handler"/>.</summary>
    public DurableJobsBuilder AddHandler(string type, IJobHandler handler)
    {
        Handlers.Add(type, handler);
        return this;
    }

    /// <summary>
    /// Adds the built-in handlers <c>delay</c>, <c>fail</c>, <c>hash</c> and <c>echo</c>, which the samples and tests
    /// use. A production app gets none of them unless it asks.
    /// </summary>
    public DurableJobsBuilder AddBuiltInHandlers()
    {
        Handlers.AddBuiltIns();
        return this;
    }

    /// <summary>Uses the storage account of <paramref name="connectionString"/> (keys or SAS).</summary>
    public DurableJobsBuilder UseAzureStorage(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return UseStorage(StorageConnection.FromConnectionString(connectionString));
    }

    /// <summary>Uses a storage account through its service endpoints and a credential (a managed identity: no keys).</summary>
    public DurableJobsBuilder UseAzureStorage(Uri blobServiceUri, Uri queueServiceUri, Uri tableServiceUri, TokenCredential credential)
    {
        ArgumentNullException.ThrowIfNull(blobServiceUri);
        ArgumentNullException.ThrowIfNull(queueServiceUri);
        ArgumentNullException.ThrowIfNull(tableServiceUri);
        ArgumentNullException.ThrowIfNull(credential);
        return UseStorage(StorageConnection.FromEndpoints(new StorageEndpoints(blobServiceUri, queueServiceUri, tableServiceUri, credential)));
    }

    /// <summary>
    /// Uses the Azurite emulator for development: the one answering on its port, or one started (installed on first
    /// use) with its data in a folder, and stopped gracefully when the host stops. Without any <c>Use…</c> call the
    /// <c>AzureWebJobsStorage</c> setting decides, and its default is this.
    /// </summary>
    public DurableJobsBuilder UseAzurite(Action<AzuriteOptions>? configure = null)
    {
        if (configure is not null)
        {
            Services.Configure(configure);
        }

        return UseAzureStorage(DevelopmentStorage.Shorthand);
    }

    private DurableJobsBuilder UseStorage(StorageConnection chosen)
    {
        // Decided when the container builds it (the emulator's ports come from the options), never by a hosted service.
        Services.RemoveAll<StorageConnection>();
        Services.AddSingleton(sp => StorageConnections.Resolve(sp, chosen));
        return this;
    }
}
