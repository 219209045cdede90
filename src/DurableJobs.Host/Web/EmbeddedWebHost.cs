using DurableJobs.Api;
using DurableJobs.Engine.Hosting;
using DurableJobs.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Host.Web;

/// <summary>
/// Builds the embedded server: the durable engine, the shared HTTP API under <c>/api</c>, the dashboard at
/// <c>/</c>, the batch queue listener and API-key enforcement. Configuration comes, lowest to highest precedence,
/// from appsettings files, the <c>Values</c> of <c>local.settings.json</c> in the working folder (the Functions
/// app's settings file), environment variables, command-line arguments, and explicit settings.
/// </summary>
internal static class EmbeddedWebHost
{
    /// <summary>Where the host listens unless <c>urls</c> (or <c>ASPNETCORE_URLS</c>, <c>--urls</c>) says otherwise: Functions' local port, loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7071";

    /// <summary>The API key setting. Required when listening beyond loopback; then required on every request.</summary>
    public const string ApiKeySetting = "DurableJobs:ApiKey";

    /// <summary>Builds the server; <c>RunAsync</c> (or <c>StartAsync</c>) on the result serves it.</summary>
    /// <param name="args">Command-line arguments, read as configuration (<c>--urls http://0.0.0.0:7071</c>, <c>--DurableJobs:HubName X</c>).</param>
    /// <param name="settings">Settings that override every other source (tests, the CLI's own options).</param>
    /// <exception cref="InvalidOperationException">Listening beyond loopback without <c>DurableJobs:ApiKey</c>, or a malformed settings file. (Starting the result throws it too when the addresses the server bound are beyond loopback without a key.)</exception>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        LocalSettingsFile.AddTo(builder.Configuration, Path.Combine(Directory.GetCurrentDirectory(), LocalSettingsFile.FileName));
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        IConfiguration configuration = builder.Configuration;
        string[] urls = ListenUrls(configuration);
        string? apiKey = configuration[ApiKeySetting] is { Length: > 0 } key ? key : null;
        if (apiKey is null && !BindingRules.AllLoopback(urls))
        {
            throw KeyRequiredBeyondLoopback(urls);
        }

        builder.WebHost.UseUrls(urls);
        if (apiKey is null)
        {
            builder.Services.AddHostedService<ListenAddressCheck>();
        }

        // Durable Task and the Azure SDK are chatty at Information; keep the console for what matters.
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Azure", LogLevel.Warning);

        // Its request lines print the full URL, API key included; RequestLogMiddleware writes them without it.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);

        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        builder.Services.AddDurableJobsApi(configuration);
        builder.Services.AddDurableJobsTelemetry(configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddOptions<BatchQueueListenerOptions>().Bind(configuration.GetSection(BatchQueueListenerOptions.SectionName));
        if (configuration.GetValue(BatchQueueListenerOptions.SectionName + ":" + nameof(BatchQueueListenerOptions.Enabled), defaultValue: true))
        {
            // Registered after the engine, so it starts once storage is resolved and the client exists.
            builder.Services.AddHostedService<BatchQueueListener>();
        }

        WebApplication app = builder.Build();
        app.UseMiddleware<RequestLogMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseBrowserProtection(keyless: apiKey is null);
        app.UseMiddleware<ApiKeyMiddleware>(apiKey ?? string.Empty);
        app.MapDurableJobsDashboard();
        app.MapDurableJobsApi();
        return app;
    }

    /// <summary>Why the host will not serve <paramref name="addresses"/>: they reach beyond loopback and no key is set.</summary>
    internal static InvalidOperationException KeyRequiredBeyondLoopback(IEnumerable<string> addresses) =>
        new($"Refusing to listen on {string.Join(", ", addresses)} without an API key: anything beyond loopback could start jobs. " +
            $"Set {ApiKeySetting} (environment variable DurableJobs__ApiKey), or listen on 127.0.0.1.");

    /// <summary>The addresses the host will listen on: <c>urls</c> and any <c>Kestrel:Endpoints:*:Url</c>, else <see cref="DefaultUrl"/>.</summary>
    internal static string[] ListenUrls(IConfiguration configuration)
    {
        var urls = (configuration[WebHostDefaults.ServerUrlsKey] ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Select(endpoint => endpoint["Url"]).OfType<string>().Where(u => u.Length > 0));
        return urls.Count > 0 ? urls.ToArray() : [DefaultUrl];
    }
}
