using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Api.Queue;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Telemetry;
using DurableJobs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit.Abstractions;

namespace DurableJobs.Telemetry.Tests;

/// <summary>
/// A batch of 3 succeeding jobs and 1 failing job, submitted as a queue message to the real embedded engine on the
/// emulator, with in-memory exporters listening to "DurableJobs": the spans, the metric values and the outcome logs.
/// </summary>
[Collection(TelemetryListeners.Name)]
public sealed class BatchTelemetryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly string[] SucceedingJobs = ["ok-1", "ok-2", "ok-3"];
    private readonly List<Activity> spans = [];
    private readonly List<MetricSnapshot> metrics = [];
    private readonly CapturedLogs logs = new();
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
            ["DurableJobs:HubName"] = "otel" + Guid.NewGuid().ToString("N")[..12],
            ["DurableJobs:PartitionCount"] = "1",
            ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.250",
            ["DurableJobs:Azurite:AutoStart"] = "false",
        });
        builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning).AddFilter("Azure", LogLevel.Warning);
        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        host = builder.Build();
        await host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await StopHostAsync();
        }

        tracing?.Dispose();
        metering?.Dispose();
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_batch_yields_one_trace_with_a_span_per_job_the_job_metrics_and_one_outcome_line_per_job()
    {
        var clock = Stopwatch.StartNew();
        BatchClient client = host!.Services.GetRequiredService<BatchClient>();
        string batchId = "otel-" + Guid.NewGuid().ToString("N")[..12];
        var request = new
        {
            batchId,
            maxParallel = 2,
            retry = new { maxAttempts = 2, firstRetryDelaySeconds = 0.05 },
            jobs = SucceedingJobs.Select(id => (object)new { id, type = "delay", payload = new { ms = 50 } })
                .Append(new { id = "broken", type = "fail", payload = new { message = "boom" } }),
        };
        var processor = new BatchQueueMessageProcessor(NullLogger<BatchQueueMessageProcessor>.Instance);

        QueueMessageOutcome outcome = await processor.ProcessAsync(
            new QueueDelivery(JsonSerializer.Serialize(request), "message-1") { DequeueCount = 1, InsertedOn = DateTimeOffset.UtcNow.AddSeconds(-2) },
            client,
            CancellationToken.None);
        Assert.Equal(QueueMessageDisposition.Started, outcome.Disposition);
        BatchView view = await Eventually.MatchAsync(async () => (await client.GetAsync(batchId))!, v => v.IsFinished, TimeSpan.FromSeconds(60), what: "the batch to finish");
        Assert.Equal(3, view.Succeeded);
        Assert.Equal(1, view.Failed);

        // The same id again: an idempotent no-op, still traced and counted.
        SubmitOutcome again = await client.SubmitAsync(JsonSerializer.Deserialize<BatchRequest>(JsonSerializer.Serialize(request), Core.Serialization.DurableJobsJson.Options));
        Assert.True(again.AlreadyExisted);

        // Stopping the host ends every activity, so every span has ended and every measurement is in.
        await StopHostAsync();
        tracing!.ForceFlush();
        metering!.ForceFlush();
        output.WriteLine($"{spans.Count} spans in {clock.Elapsed.TotalSeconds:0.0} s");

        AssertSpans(batchId);
        AssertMetrics();
        AssertLogs(batchId);
    }

    private void AssertSpans(string batchId)
    {
        Activity[] ours = spans.Where(s => Equals(s.GetTagItem(TelemetryTags.BatchId), batchId)).ToArray();
        Activity queue = Assert.Single(ours, s => s.OperationName == DurableJobsTelemetry.QueueSpan);
        Assert.Equal(ActivityKind.Consumer, queue.Kind);
        Assert.Equal(1L, queue.GetTagItem(TelemetryTags.DequeueCount));
        Assert.Equal("started", queue.GetTagItem(TelemetryTags.QueueOutcome));

        Activity[] submits = ours.Where(s => s.OperationName == DurableJobsTelemetry.SubmitSpan).ToArray();
        Assert.Equal(2, submits.Length);
        Activity submit = Assert.Single(submits, s => Equals(s.GetTagItem(TelemetryTags.Existed), false));
        Assert.Equal(queue.SpanId, submit.ParentSpanId);
        Assert.Equal(4, submit.GetTagItem(TelemetryTags.JobCount));
        Assert.Single(submits, s => Equals(s.GetTagItem(TelemetryTags.Existed), true) && Equals(s.GetTagItem(TelemetryTags.SubmitOutcome), "existing"));

        Activity start = Assert.Single(ours, s => s.OperationName == DurableJobsTelemetry.OrchestrationStartSpan);
        Assert.Equal(submit.SpanId, start.ParentSpanId);

        // The trace context crossed the orchestration: chunks and jobs are in the submission's trace.
        Activity[] chunks = ours.Where(s => s.OperationName == DurableJobsTelemetry.ChunkSpan).ToArray();
        Assert.NotEmpty(chunks);
        Assert.All(chunks, c => Assert.Equal(queue.TraceId, c.TraceId));
        Assert.All(chunks, c => Assert.Equal(start.SpanId, c.ParentSpanId));
        Assert.Equal(4, chunks.Sum(c => (int)c.GetTagItem(TelemetryTags.ChunkCount)!));

        Activity[] jobs = ours.Where(s => s.OperationName == DurableJobsTelemetry.JobSpan).ToArray();
        Assert.Equal(4, jobs.Length);
        Assert.All(jobs, j => Assert.Equal(queue.TraceId, j.TraceId));
        Assert.All(jobs, j => Assert.Contains(j.ParentSpanId, chunks.Select(c => c.SpanId)));
        Assert.Equal(SucceedingJobs.Append("broken").Order(), jobs.Select(j => (string)j.GetTagItem(TelemetryTags.JobId)!).Order());

        Activity[] succeeded = jobs.Where(j => Equals(j.GetTagItem(TelemetryTags.JobStatus), "succeeded")).ToArray();
        Assert.Equal(3, succeeded.Length);
        Assert.All(succeeded, j => Assert.Equal(ActivityStatusCode.Unset, j.Status));
        Assert.All(succeeded, j => Assert.Equal(1, j.GetTagItem(TelemetryTags.Attempt)));

        Activity failed = Assert.Single(jobs, j => Equals(j.GetTagItem(TelemetryTags.JobStatus), "failed"));
        Assert.Equal("broken", failed.GetTagItem(TelemetryTags.JobId));
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal("boom", failed.StatusDescription);
        Assert.Equal(2, failed.GetTagItem(TelemetryTags.Attempt));
        Assert.Equal(2, failed.Events.Count(e => e.Name == "durablejobs.job.attempt"));
        Assert.Equal(2, failed.Events.Count(e => e.Name == "durablejobs.job.attempt.failed"));
    }

    private void AssertMetrics()
    {
        Assert.Equal(3, Sum(DurableJobsTelemetry.JobsStartedMetric, (TelemetryTags.JobType, "delay")));
        Assert.Equal(1, Sum(DurableJobsTelemetry.JobsStartedMetric, (TelemetryTags.JobType, "fail")));
        Assert.Equal(3, Sum(DurableJobsTelemetry.JobsCompletedMetric, (TelemetryTags.JobStatus, "succeeded")));
        Assert.Equal(1, Sum(DurableJobsTelemetry.JobsCompletedMetric, (TelemetryTags.JobStatus, "failed")));
        Assert.Equal(0, Sum(DurableJobsTelemetry.JobsCompletedMetric, (TelemetryTags.JobStatus, "timed_out")));
        Assert.Equal(0, Sum(DurableJobsTelemetry.JobsInFlightMetric));
        Assert.NotEmpty(Points(DurableJobsTelemetry.JobsInFlightMetric));
        Assert.Equal(1, Sum(DurableJobsTelemetry.BatchesSubmittedMetric, (TelemetryTags.SubmitOutcome, "started")));
        Assert.Equal(1, Sum(DurableJobsTelemetry.BatchesSubmittedMetric, (TelemetryTags.SubmitOutcome, "existing")));

        MetricPoint[] durations = Points(DurableJobsTelemetry.JobDurationMetric);
        Assert.Equal(4, durations.Sum(p => p.GetHistogramCount()));
        Assert.Equal(1, durations.Where(p => HasTag(p, TelemetryTags.JobStatus, "failed")).Sum(p => p.GetHistogramCount()));
        Assert.All(durations.Where(p => HasTag(p, TelemetryTags.JobType, "delay")), p => Assert.True(p.GetHistogramSum() >= 3 * 0.045, $"delay jobs took {p.GetHistogramSum()} s"));

        MetricPoint lag = Assert.Single(Points(DurableJobsTelemetry.QueueLagMetric));
        Assert.Equal(1, lag.GetHistogramCount());
        Assert.InRange(lag.GetHistogramSum(), 1.9, 30);
    }

    private void AssertLogs(string batchId)
    {
        CapturedLogs.CapturedLine[] outcomes = logs.Lines.Where(l => l.Category == "DurableJobs.Jobs" && Equals(l.Scope.GetValueOrDefault("BatchId"), batchId)).ToArray();
        Assert.Equal(4, outcomes.Length);
        Assert.All(outcomes, l => Assert.Equal(LogLevel.Information, l.Level));
        Assert.Equal(SucceedingJobs.Append("broken").Order(), outcomes.Select(l => (string)l.Scope["JobId"]!).Order());
        Assert.Contains(outcomes, l => l.Message.Contains("broken Failed after 2 attempt(s)", StringComparison.Ordinal));

        // Attempts are at Debug: 3 first-attempt successes and 2 failures of the broken job.
        CapturedLogs.CapturedLine[] attempts = logs.Lines
            .Where(l => l.Level == LogLevel.Debug && l.Message.Contains(batchId, StringComparison.Ordinal) && l.Message.Contains(" attempt ", StringComparison.Ordinal))
            .Where(l => l.Message.EndsWith(" succeeded", StringComparison.Ordinal) || l.Message.EndsWith(" failed", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(5, attempts.Length);
        Assert.All(attempts, l => Assert.Equal(batchId, l.Scope.GetValueOrDefault("BatchId")));
    }

    private long Sum(string metric, params (string Key, string Value)[] tags) =>
        Points(metric).Where(p => tags.All(t => HasTag(p, t.Key, t.Value))).Sum(p => p.GetSumLong());

    private MetricPoint[] Points(string metric)
    {
        // Cumulative temporality: the last snapshot of an instrument holds its totals.
        MetricSnapshot? last = metrics.LastOrDefault(m => m.Name == metric);
        return last is null ? [] : last.MetricPoints.ToArray();
    }

    private static bool HasTag(MetricPoint point, string key, string value)
    {
        foreach (KeyValuePair<string, object?> tag in point.Tags)
        {
            if (tag.Key == key && Equals(tag.Value, value))
            {
                return true;
            }
        }

        return false;
    }

    private async Task StopHostAsync()
    {
        IHost stopping = host!;
        host = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stopping.StopAsync(timeout.Token);
        if (stopping.Services.GetService<DurableJobsEngine>() is { } engine)
        {
            await engine.DisposeAsync();
        }

        stopping.Dispose();
    }
}
