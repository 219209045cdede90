using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace DurableJobs.Telemetry.Tests;

public sealed class TelemetrySettingsTests
{
    [Fact]
    public void Nothing_configured_adds_no_OpenTelemetry_SDK()
    {
        using ServiceProvider services = new ServiceCollection().AddDurableJobsTelemetry(Configuration()).BuildServiceProvider();

        Assert.Null(services.GetService<TracerProvider>());
        Assert.Null(services.GetService<MeterProvider>());
    }

    [Fact]
    public void The_console_setting_adds_tracing_and_metrics()
    {
        using ServiceProvider services = new ServiceCollection()
            .AddDurableJobsTelemetry(Configuration(("DurableJobs:Telemetry:Console", "true")))
            .BuildServiceProvider();

        Assert.NotNull(services.GetService<TracerProvider>());
        Assert.NotNull(services.GetService<MeterProvider>());
    }

    [Fact]
    public void The_standard_OTLP_variable_is_honoured_and_the_own_setting_wins_over_it()
    {
        TelemetrySettings standard = TelemetrySettings.From(Configuration(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")));
        TelemetrySettings own = TelemetrySettings.From(Configuration(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("DurableJobs:Telemetry:OtlpEndpoint", "http://localhost:4318"),
            ("DurableJobs:Telemetry:OtlpProtocol", "http/protobuf")));

        Assert.True(standard.AnyExporter);
        Assert.True(standard.OtlpFromEnvironment);
        Assert.Equal(new Uri("http://collector:4317"), standard.OtlpEndpoint);
        Assert.False(own.OtlpFromEnvironment);
        Assert.Equal(new Uri("http://localhost:4318"), own.OtlpEndpoint);
        Assert.Equal("http/protobuf", own.OtlpProtocol);
        Assert.False(TelemetrySettings.From(Configuration()).AnyExporter);
    }

    [Fact]
    public void A_relative_endpoint_is_refused_with_an_example()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TelemetrySettings.From(Configuration(("DurableJobs:Telemetry:OtlpEndpoint", "not a uri"))));
        Assert.Contains("http://localhost:4317", ex.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}
