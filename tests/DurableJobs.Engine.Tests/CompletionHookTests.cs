using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Client;
using DurableJobs.Client.Hooks;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Hooks;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// Completion hooks on the embedded engine and a real Azurite: a webhook receiver in this process (an
/// <see cref="HttpListener"/> on 127.0.0.1), the queue of the emulator, and next batches.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class CompletionHookTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "hook-test-secret";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly ProbeJobHandler probe = new();
    private readonly string hub = "hooks" + Guid.NewGuid().ToString("N")[..12];
    private readonly Receiver receiver = new();
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    public async Task InitializeAsync() => host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, new Dictionary<string, string?>
    {
        ["DurableJobs:Hooks:Secret"] = Secret,
        ["DurableJobs:Hooks:AllowLoopbackHttp"] = "true",
    });

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        receiver.Dispose();
    }

    [Fact]
    public async Task Webhook_GetsExactlyOneSignedDeliveryOfTheFinalView_AndTheQueueGetsTheSameView()
    {
        string queue = "done-" + Guid.NewGuid().ToString("N")[..10];
        string id = await SubmitAsync(Batch([Job("echo", new { n = 1 }), Job("echo", new { n = 2 })]) with
        {
            OnComplete = new CompletionHook { Webhook = receiver.Url, Queue = queue },
        });

        BatchView final = await WaitFinishedAsync(id);
        Received delivery = await receiver.WaitForAsync(1, Patience);

        // Nothing more comes: one logical delivery, one attempt.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Single(receiver.Requests);
        Assert.Equal(id, delivery.IdempotencyKey);
        Assert.Equal("1", delivery.Attempt);
        Assert.Equal(WebhookSender.Sign(Secret, Encoding.UTF8.GetBytes(delivery.Body)), delivery.Signature);
        BatchView posted = JsonSerializer.Deserialize<BatchView>(delivery.Body, DurableJobsJson.Options)!;
        Assert.Null(posted.Hooks);
        Assert.Equal(final with { Hooks = null }, posted with { Reruns = final.Reruns, CapSteps = final.CapSteps });
        Assert.Equal(BatchStatus.Completed, posted.Status);
        Assert.Equal(2, posted.Succeeded);
        output.WriteLine($"webhook {(delivery.At - final.CompletedAt!.Value).TotalMilliseconds:0} ms after the batch completed");

        QueueClient queueClient = new(fixture.Emulator.ConnectionString, queue);
        QueueMessage? message = await Eventually.MatchAsync(
            async () => (await queueClient.ExistsAsync()).Value ? (await queueClient.ReceiveMessageAsync()).Value : null,
            m => m is not null, Patience, TimeSpan.FromMilliseconds(200), "the queue message");
        BatchView queued = JsonSerializer.Deserialize<BatchView>(message!.Body.ToString(), DurableJobsJson.Options)!;
        Assert.Equal(posted, queued);
    }

    [Fact]
    public async Task Webhook_AnsweredWith500Twice_IsDeliveredOnTheThirdAttempt_WithTheSameIdempotencyKeyAndBody()
    {
        receiver.Plan(HttpStatusCode.InternalServerError, HttpStatusCode.InternalServerError);
        string id = await SubmitAsync(Batch([Job("echo", new { n = 1 })]) with { OnComplete = new CompletionHook { Webhook = receiver.Url } });

        await receiver.WaitForAsync(3, Patience);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Received[] attempts = receiver.Requests.ToArray();
        Assert.Equal(3, attempts.Length);
        Assert.Equal(["1", "2", "3"], attempts.Select(a => a.Attempt));
        Assert.All(attempts, a => Assert.Equal(id, a.IdempotencyKey));
        Assert.All(attempts, a => Assert.Equal(WebhookSender.Sign(Secret, Encoding.UTF8.GetBytes(a.Body)), a.Signature));
        Assert.Single(attempts.Select(a => a.Body).Distinct());

        // Back-off: 1 s, then 2 s, between the attempts.
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromSeconds(0.9), $"{(attempts[1].At - attempts[0].At).TotalSeconds:0.00} s");
        Assert.True(attempts[2].At - attempts[1].At >= TimeSpan.FromSeconds(1.9), $"{(attempts[2].At - attempts[1].At).TotalSeconds:0.00} s");
        List<HookStepStatus> hook = await HookOutcomeAsync(id);
        HookStepStatus webhook = Assert.Single(hook);
        Assert.Equal((HookStepState.Delivered, 3), (webhook.State, webhook.Attempts));

        // The batch's view shows the same.
        HookStepStatus shown = Assert.Single((await Client.GetAsync(id))!.Hooks!);
        Assert.Equal((HookStepKind.Webhook, receiver.Url, HookStepState.Delivered, 3), (shown.Kind, shown.Target, shown.State, shown.Attempts));
    }

    [Fact]
    public async Task Next_StartsOnlyAfterItsPredecessorEnded_UnderTheIdIdDotNext()
    {
        string id = await SubmitAsync(Batch([Job("probe", new { ms = 1500 })]) with
        {
            Next = new NextBatch { Batch = Batch([Job("echo", new { n = 1 })]), OnlyOnSuccess = true },
        });
        string nextId = id + ".next";

        // While the first runs, there is no next batch.
        await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Running, Patience, TimeSpan.FromMilliseconds(50), "running");
        Assert.Null(await Client.GetAsync(nextId));

        BatchView first = await WaitFinishedAsync(id);
        BatchView? next = await Eventually.MatchAsync(async () => await Client.GetAsync(nextId), v => v is { IsFinished: true }, Patience, TimeSpan.FromMilliseconds(100), "next batch finished");
        Assert.Equal(BatchStatus.Completed, first.Status);
        Assert.Equal((BatchStatus.Completed, 1), (next!.Status, next.Succeeded));
        Assert.True(next.CreatedAt >= first.CompletedAt, $"next created {next.CreatedAt:O}, first completed {first.CompletedAt:O}");
        output.WriteLine($"next batch created {(next.CreatedAt - first.CompletedAt!.Value).TotalMilliseconds:0} ms after its predecessor completed");
        HookStepStatus step = Assert.Single(await HookOutcomeAsync(id));
        Assert.Equal((HookStepKind.Next, HookStepState.Delivered, nextId), (step.Kind, step.State, step.Target));
    }

    [Fact]
    public async Task Next_WithOnlyOnSuccess_AfterAFailedJob_StartsNoBatch_ButWithoutItStartsOne()
    {
        string strict = await SubmitAsync(Batch([Job("echo", new { n = 1 }), Job("fail", new { message = "no" })]) with
        {
            Next = new NextBatch { Batch = Batch([Job("echo", new { n = 1 })]), OnlyOnSuccess = true },
        });
        string lenient = await SubmitAsync(Batch([Job("fail", new { message = "no" })]) with
        {
            Next = new NextBatch { Batch = Batch([Job("echo", new { n = 1 })]) with { BatchId = "after-" + Guid.NewGuid().ToString("N") } },
        });

        HookStepStatus skipped = Assert.Single(await HookOutcomeAsync(strict));
        Assert.Equal(HookStepState.Skipped, skipped.State);
        Assert.Null(await Client.GetAsync(strict + ".next"));

        HookStepStatus started = Assert.Single(await HookOutcomeAsync(lenient));
        Assert.Equal(HookStepState.Delivered, started.State);
        Assert.StartsWith("after-", started.Target, StringComparison.Ordinal);
        Assert.NotNull(await Client.GetAsync(started.Target));
        Assert.Null(await Client.GetAsync(lenient + ".next"));
    }

    [Fact]
    public async Task DelayFromBatchEndToWebhook_IsMeasuredOverFiveBatches_AndStaysUnderFiveSeconds()
    {
        var delays = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            int before = receiver.Requests.Count;
            string id = await SubmitAsync(Batch([Job("echo", new { n = i })]) with { OnComplete = new CompletionHook { Webhook = receiver.Url } });
            Received delivery = await receiver.WaitForAsync(before + 1, Patience);
            BatchView final = (await Client.GetAsync(id))!;
            delays.Add((delivery.At - final.CompletedAt!.Value).TotalMilliseconds);
        }

        delays.Sort();
        output.WriteLine($"batch completed → webhook received: {string.Join(", ", delays.Select(d => $"{d:0}"))} ms (median {delays[2]:0} ms)");
        Assert.All(delays, d => Assert.InRange(d, 0, 5_000));
    }

    private async Task<List<HookStepStatus>> HookOutcomeAsync(string batchId)
    {
        DurableTaskClient durable = host!.Services.GetRequiredService<DurableTaskClient>();
        string instance = HookNames.InstanceIdOf(batchId);
        await Eventually.MatchAsync(async () => await durable.GetInstanceAsync(instance), m => m is not null, Patience, TimeSpan.FromMilliseconds(100), $"hook {instance} started");
        using var timeout = new CancellationTokenSource(Patience);
        OrchestrationMetadata done = await durable.WaitForInstanceCompletionAsync(instance, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<List<HookStepStatus>>()!;
    }

    private static BatchRequest Batch(IReadOnlyList<JobSpec> jobs) => new() { Jobs = jobs, MaxParallel = 4, DeadlineSeconds = 60 };

    private static JobSpec Job(string type, object payload) => new() { Type = type, Payload = JsonSerializer.SerializeToElement(payload) };

    private async Task<string> SubmitAsync(BatchRequest request)
    {
        SubmitOutcome outcome = await Client.SubmitAsync(request);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
        return outcome.BatchId!;
    }

    private Task<BatchView> WaitFinishedAsync(string id) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(50), $"batch {id} finished");

    private sealed record Received(DateTimeOffset At, string Body, string? Signature, string? IdempotencyKey, string? Attempt);

    /// <summary>A webhook receiver on 127.0.0.1: records every request and answers the planned statuses first, then 200.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly ConcurrentQueue<HttpStatusCode> planned = new();
        private readonly Task loop;

        public Receiver()
        {
            int port = FreePort();
            Url = $"http://127.0.0.1:{port}/hook";
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            listener.Start();
            loop = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public ConcurrentQueue<Received> Requests { get; } = new();

        public void Plan(params HttpStatusCode[] statuses)
        {
            foreach (HttpStatusCode status in statuses)
            {
                planned.Enqueue(status);
            }
        }

        public Task<Received> WaitForAsync(int count, TimeSpan timeout) =>
            Eventually.MatchAsync(() => Task.FromResult(Requests.Skip(count - 1).FirstOrDefault()), r => r is not null, timeout, TimeSpan.FromMilliseconds(10), $"{count} webhook requests")!;

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            loop.Wait(TimeSpan.FromSeconds(5));
        }

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                DateTimeOffset at = DateTimeOffset.UtcNow;
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                string body = await reader.ReadToEndAsync();
                Requests.Enqueue(new Received(
                    at, body, context.Request.Headers[WebhookSender.SignatureHeader], context.Request.Headers[WebhookSender.IdempotencyHeader], context.Request.Headers[WebhookSender.AttemptHeader]));
                context.Response.StatusCode = (int)(planned.TryDequeue(out HttpStatusCode status) ? status : HttpStatusCode.OK);
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }
    }
}
