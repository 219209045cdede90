using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DurableJobs.Telemetry;

/// <summary>The one place the embedded hosts (web host, <c>run</c>, <c>serve --worker-only</c>) turn on OpenTelemetry.</summary>
public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Exports the DurableJobs spans and metrics as <paramref name="configuration"/> says (see
    /// <see cref="TelemetrySettings"/>): to the console when <c>DurableJobs:Telemetry:Console</c> is true, over OTLP
    /// (traces, metrics and logs) when an endpoint is set. With neither, nothing is added: no listener, so the
    /// instrumentation costs a branch per job.
    /// </summary>
    public static IServiceCollection AddDurableJobsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        TelemetrySettings settings = TelemetrySettings.From(configuration);
        if (!settings.AnyExporter)
        {
            return services;
        }

        OpenTelemetryBuilder builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(settings.ServiceName))
            .AddDurableJobsInstrumentation();
        if (settings.Console)
        {
            builder.WithTracing(tracing => tracing.AddConsoleExporter()).WithMetrics(metrics => metrics.AddConsoleExporter());
        }

        if (settings.OtlpFromEnvironment)
        {
            // The exporter reads OTEL_EXPORTER_OTLP_* (protocol, headers, per-signal endpoints) itself.
            builder.UseOtlpExporter();
        }
        else if (settings.OtlpEndpoint is { } endpoint)
        {
            OtlpExportProtocol protocol = settings.OtlpProtocol.Equals("http/protobuf", StringComparison.OrdinalIgnoreCase)
                ? OtlpExportProtocol.HttpProtobuf
                : OtlpExportProtocol.Grpc;
            builder.UseOtlpExporter(protocol, endpoint);
        }

        return services;
    }

    /// <summary>Subscribes tracing and metrics to the <see cref="DurableJobsTelemetry.Name"/> source and meter (for hosts that choose their own exporters, such as Azure Functions).</summary>
    public static TBuilder AddDurableJobsInstrumentation<TBuilder>(this TBuilder builder)
        where TBuilder : IOpenTelemetryBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithTracing(tracing => tracing.AddSource(DurableJobsTelemetry.Name));
        builder.WithMetrics(metrics => metrics.AddMeter(DurableJobsTelemetry.Name));
        return builder;
    }
}
