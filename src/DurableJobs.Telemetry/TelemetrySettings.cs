using Microsoft.Extensions.Configuration;

namespace DurableJobs.Telemetry;

/// <summary>
/// What the hosts export, from configuration: <c>DurableJobs:Telemetry:*</c>, and the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> / <c>OTEL_SERVICE_NAME</c> variables.
/// </summary>
public sealed class TelemetrySettings
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Telemetry";

    /// <summary>The standard OTLP endpoint variable, honoured as the OpenTelemetry SDK documents it.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Write spans and metrics to the console (<c>DurableJobs:Telemetry:Console</c>): for development.</summary>
    public bool Console { get; init; }

    /// <summary>
    /// Where to send OTLP (<c>DurableJobs:Telemetry:OtlpEndpoint</c>), e.g. <c>http://localhost:4317</c>; null when
    /// neither it nor <see cref="OtlpEndpointVariable"/> is set.
    /// </summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>True when the endpoint came from <see cref="OtlpEndpointVariable"/>: the exporter then reads every OTEL_* variable itself.</summary>
    public bool OtlpFromEnvironment { get; init; }

    /// <summary><c>grpc</c> (default, port 4317) or <c>http/protobuf</c> (port 4318): <c>DurableJobs:Telemetry:OtlpProtocol</c>.</summary>
    public string OtlpProtocol { get; init; } = "grpc";

    /// <summary>The <c>service.name</c> resource attribute: <c>OTEL_SERVICE_NAME</c>, else <c>DurableJobs:Telemetry:ServiceName</c>, else "durablejobs".</summary>
    public string ServiceName { get; init; } = "durablejobs";

    /// <summary>Whether any exporter is configured; when none is, the hosts add no OpenTelemetry SDK at all.</summary>
    public bool AnyExporter => Console || OtlpEndpoint is not null;

    /// <summary>Reads the settings.</summary>
    /// <exception cref="InvalidOperationException">An endpoint that is not an absolute URI.</exception>
    public static TelemetrySettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SectionName);
        string? own = section["OtlpEndpoint"] is { Length: > 0 } e ? e : null;
        string? standard = configuration[OtlpEndpointVariable] is { Length: > 0 } v ? v : null;
        string? endpoint = own ?? standard;
        Uri? uri = null;
        if (endpoint is not null && !Uri.TryCreate(endpoint, UriKind.Absolute, out uri))
        {
            throw new InvalidOperationException($"The OTLP endpoint '{endpoint}' is not an absolute URI (for example http://localhost:4317).");
        }

        return new TelemetrySettings
        {
            Console = section.GetValue("Console", false),
            OtlpEndpoint = uri,
            OtlpFromEnvironment = own is null && standard is not null,
            OtlpProtocol = section["OtlpProtocol"] is { Length: > 0 } p ? p : "grpc",
            ServiceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } n ? n : section["ServiceName"] is { Length: > 0 } s ? s : "durablejobs",
        };
    }
}
