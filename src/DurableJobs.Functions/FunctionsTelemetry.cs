using Azure.Monitor.OpenTelemetry.Exporter;
using DurableJobs.Telemetry;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;

namespace DurableJobs.Functions;

/// <summary>OpenTelemetry for the Functions worker: Application Insights when the app has one, else OTLP when configured.</summary>
public static class FunctionsTelemetry
{
    /// <summary>The Application Insights connection string setting, as Functions and the Bicep templates name it.</summary>
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// With <see cref="ConnectionStringSetting"/> set, exports the DurableJobs spans and metrics, the Functions
    /// worker's own (function invocations) and the logs to Application Insights through the Azure Monitor exporter;
    /// else, with an OTLP endpoint set (<see cref="TelemetrySettings"/>), to that endpoint. With neither, adds nothing.
    /// host.json sets <c>telemetryMode: OpenTelemetry</c> so the host's telemetry correlates with the worker's.
    /// </summary>
    public static IServiceCollection AddDurableJobsFunctionsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        string? appInsights = configuration[ConnectionStringSetting] is { Length: > 0 } cs ? cs : null;
        TelemetrySettings settings = TelemetrySettings.From(configuration);
        if (appInsights is null && settings.OtlpEndpoint is null)
        {
            return services;
        }

        OpenTelemetryBuilder builder = services.AddOpenTelemetry();
        builder.UseFunctionsWorkerDefaults();
        builder.AddDurableJobsInstrumentation();
        if (appInsights is not null)
        {
            builder.UseAzureMonitorExporter(options => options.ConnectionString = appInsights);
        }
        else if (settings.OtlpFromEnvironment)
        {
            builder.UseOtlpExporter();
        }
        else
        {
            builder.UseOtlpExporter(
                settings.OtlpProtocol.Equals("http/protobuf", StringComparison.OrdinalIgnoreCase) ? OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf : OpenTelemetry.Exporter.OtlpExportProtocol.Grpc,
                settings.OtlpEndpoint!);
        }

        return services;
    }
}
