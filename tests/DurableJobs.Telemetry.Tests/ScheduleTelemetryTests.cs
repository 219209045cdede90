using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Schedules;
using DurableJobs.Orchestration.Telemetry;
using DurableJobs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit.Abstractions;

namespace DurableJobs.Telemetry.Tests;

/// <summary>A per-second schedule on the real embedded engine, with in-memory exporters: a span per occurrence and the tick-lateness histogram.</summary>
[Collection(TelemetryListeners.Name)]
public sealed class ScheduleTelemetryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<Activity> spans = [];
    private readonly List<MetricSnapshot> metrics = [];
    private StorageEmulator? emulator;
    private TracerProvider? tracing;
    private MeterProvider? metering;
    private IHost? host;

    public async Task InitializeAsync()
    {
        tracing = Sdk.CreateTracerProviderBuilder().AddSource(DurableJobsTelemetry.Name).AddInMemoryExporter(spans).Build();
        metering = Sdk.CreateMeterProviderBuilder().AddMeter(DurableJobsTelemetry.Name).AddInMemoryExporter(metrics).Build();
        emulator = await StorageEmulator.StartAsync();

        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = emulator.ConnectionString,
            ["DurableJobs:HubName"] = "otels" + Guid.NewGuid().ToString("N")[..12],
            ["DurableJobs:PartitionCount"] = "1",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.250",
            ["DurableJobs:Azurite:AutoStart"] = "false",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        host = builder.Build();
        await host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(timeout.Token);
            if (host.Services.GetService<DurableJobsEngine>() is { } engine)
            {
                await engine.DisposeAsync();
            }

            host.Dispose();
        }

        tracing?.Dispose();
        metering?.Dispose();
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_per_second_schedule_yields_one_occurrence_span_per_batch_and_a_lateness_value_for_each()
    {
        IScheduleClient schedules = host!.Services.GetRequiredService<IScheduleClient>();
        var definition = new ScheduleDefinition
        {
            Cron = "* * * * * *",
            Overlap = ScheduleOverlap.Allow,
            Template = new BatchRequest { Jobs = [new JobSpec { Type = "echo", Payload = JsonSerializer.SerializeToElement(1) }] },
        };
        Assert.True((await schedules.SetAsync("otel", definition)).Accepted);
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        await schedules.DeleteAsync("otel");
        tracing!.ForceFlush();
        metering!.ForceFlush();

        Activity[] occurrences = spans.Where(s => s.OperationName == DurableJobsTelemetry.ScheduleOccurrenceSpan).ToArray();
        string[] batchIds = occurrences.Select(s => (string)s.GetTagItem(TelemetryTags.BatchId)!).ToArray();
        output.WriteLine(string.Join(Environment.NewLine, occurrences.Select(s => $"{s.GetTagItem(TelemetryTags.BatchId)} late {s.GetTagItem(TelemetryTags.TickLateness):0.000} s")));
        Assert.InRange(occurrences.Length, 3, 6);
        Assert.Equal(batchIds.Length, batchIds.Distinct().Count());
        Assert.All(occurrences, s =>
        {
            Assert.Equal("otel", s.GetTagItem(TelemetryTags.Schedule));
            Assert.Equal("cron", s.GetTagItem(TelemetryTags.ScheduleTrigger));
            Assert.StartsWith("otel-", (string)s.GetTagItem(TelemetryTags.BatchId)!, StringComparison.Ordinal);
        });

        // The submit span of each occurrence's batch is its child: one trace per occurrence.
        Assert.All(occurrences, o => Assert.Contains(spans, s => s.OperationName == DurableJobsTelemetry.SubmitSpan && s.ParentSpanId == o.SpanId));

        MetricPoint[] lateness = (metrics.LastOrDefault(m => m.Name == DurableJobsTelemetry.TickLatenessMetric)?.MetricPoints ?? []).ToArray();
        Assert.Equal(occurrences.Length, lateness.Sum(p => p.GetHistogramCount()));
        Assert.InRange(lateness.Sum(p => p.GetHistogramSum()) / occurrences.Length, 0, 2);
    }
}

/// <summary>
/// Tests whose in-memory exporters listen to the process-wide "DurableJobs" source and meter: run one at a time, or
/// each would see the other's spans and measurements.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TelemetryListeners
{
    public const string Name = "Telemetry listeners";
}
