using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using DurableJobs.Core.Model;
using DurableJobs.Functions;
using DurableJobs.Functions.Functions;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Api.Tests;

public sealed class FunctionsHostFixture : HostFixture
{
    public const string Hub = "ApiFunctionsTests";

    protected override string HubName => Hub;
}

/// <summary>
/// Calls the Functions app's wrappers as the Functions runtime would, with the app's own container and, as the
/// bound durable client, the embedded engine's client on the same task hub (whose worker runs the batches).
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class FunctionsWrapperTests(EmulatorFixture storage, FunctionsHostFixture fixture) : IClassFixture<FunctionsHostFixture>, IAsyncLifetime
{
    private const string QueueName = "fn-batches";
    private RunningHost host = null!;
    private ServiceProvider services = null!;
    private DurableTaskClient durable = null!;
    private BatchHttpFunctions http = null!;

    public async Task InitializeAsync()
    {
        host = await fixture.GetAsync(storage);
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["DurableJobs:HubName"] = FunctionsHostFixture.Hub,
            ["DurableJobs:BatchQueueName"] = QueueName,
        }).Build();
        services = new ServiceCollection().AddLogging().AddSingleton(configuration).AddDurableJobs().AddBuiltInHandlers().AddFunctionsIntegration(configuration).Services.BuildServiceProvider();
        durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        http = ActivatorUtilities.CreateInstance<BatchHttpFunctions>(services);
    }

    public async Task DisposeAsync() => await services.DisposeAsync();

    [Fact]
    public async Task Http_functions_submit_follow_and_refuse_like_the_embedded_host()
    {
        (int status, JsonElement accepted, HttpContext context) = await CallAsync(
            c => http.SubmitBatch(c.Request, durable, CancellationToken.None), "POST", "/api/batches",
            """{"batchId":"fn-run","jobs":[{"type":"echo","payload":7},{"type":"fail"}]}""");
        Assert.Equal(StatusCodes.Status202Accepted, status);
        Assert.Equal("http://functions.test/api/batches/fn-run", context.Response.Headers.Location.ToString());
        Assert.Equal("http://functions.test/api/batches/fn-run/jobs", accepted.GetProperty("jobsGetUri").GetString());
        Assert.False(accepted.GetProperty("existing").GetBoolean());

        JsonElement view = await Eventually.MatchAsync(
            async () => (await CallAsync(c => http.GetBatch(c.Request, "fn-run", durable, CancellationToken.None), "GET", "/api/batches/fn-run")).Body,
            v => v.GetProperty("status").GetString() == "Completed",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250), "fn-run completed");
        Assert.Equal(1, view.GetProperty("succeeded").GetInt32());
        Assert.Equal(1, view.GetProperty("failed").GetInt32());

        JsonElement jobs = (await CallAsync(c => http.GetBatchJobs(c.Request, "fn-run", durable, CancellationToken.None), "GET", "/api/batches/fn-run/jobs", query: "?status=Succeeded")).Body;
        Assert.Equal(7, Assert.Single(jobs.GetProperty("items").EnumerateArray()).GetProperty("output").GetInt32());

        (int again, JsonElement existing, _) = await CallAsync(
            c => http.SubmitBatch(c.Request, durable, CancellationToken.None), "POST", "/api/batches", """{"batchId":"fn-run","jobs":[{"type":"echo"}]}""");
        Assert.Equal(StatusCodes.Status202Accepted, again);
        Assert.True(existing.GetProperty("existing").GetBoolean());

        (int finished, JsonElement conflict, _) = await CallAsync(c => http.CancelBatch(c.Request, "fn-run", durable, CancellationToken.None), "POST", "/api/batches/fn-run/cancel", "{}");
        Assert.Equal(StatusCodes.Status409Conflict, finished);
        Assert.Equal("batch-already-finished", conflict.GetProperty("code").GetString());

        (int missing, _, HttpContext missingContext) = await CallAsync(c => http.GetBatch(c.Request, "fn-none", durable, CancellationToken.None), "GET", "/api/batches/fn-none");
        Assert.Equal(StatusCodes.Status404NotFound, missing);
        Assert.Equal("application/problem+json", missingContext.Response.ContentType);

        (int invalid, JsonElement problem, _) = await CallAsync(
            c => http.SubmitBatch(c.Request, durable, CancellationToken.None), "POST", "/api/batches", """{"batchId":"fn-bad","jobs":[{"type":"nope"}]}""");
        Assert.Equal(StatusCodes.Status400BadRequest, invalid);
        Assert.True(problem.GetProperty("errors").TryGetProperty("jobs[0].type", out _));
        Assert.Null(await durable.GetInstanceAsync("fn-bad"));

        JsonElement list = (await CallAsync(c => http.ListBatches(c.Request, durable, CancellationToken.None), "GET", "/api/batches")).Body;
        Assert.Contains(list.GetProperty("items").EnumerateArray(), b => b.GetProperty("id").GetString() == "fn-run");

        Assert.Equal(StatusCodes.Status200OK, (await CallAsync(c => http.Health(c.Request, durable, CancellationToken.None), "GET", "/api/healthz")).Status);

        Assert.Equal(StatusCodes.Status204NoContent, (await CallAsync(c => http.DeleteBatch(c.Request, "fn-run", durable, CancellationToken.None), "DELETE", "/api/batches/fn-run")).Status);
        Assert.Null(await durable.GetInstanceAsync("fn-run"));
        Assert.Equal(StatusCodes.Status404NotFound, (await CallAsync(c => http.DeleteBatch(c.Request, "fn-run", durable, CancellationToken.None), "DELETE", "/api/batches/fn-run")).Status);
    }

    [Fact]
    public async Task The_queue_function_starts_once_and_poisons_garbage_with_the_reason()
    {
        var function = ActivatorUtilities.CreateInstance<BatchQueueFunction>(services);
        QueueMessage valid = QueuesModelFactory.QueueMessage("fn-msg-1", "pop", Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"jobs":[{"type":"echo"}]}""")), 1);
        QueueMessageOutcome first = await function.HandleAsync(valid, durable, CancellationToken.None);
        QueueMessageOutcome redelivered = await function.HandleAsync(valid, durable, CancellationToken.None);
        Assert.Equal(QueueMessageDisposition.Started, first.Disposition);
        Assert.Equal(QueueMessageDisposition.AlreadyExisted, redelivered.Disposition);
        Assert.Equal(BatchQueueMessageProcessor.DeriveBatchId("fn-msg-1"), first.BatchId);
        Assert.NotNull(await durable.GetInstanceAsync(first.BatchId!));

        QueueMessage garbage = QueuesModelFactory.QueueMessage("fn-msg-2", "pop", "<<not a batch>>", 2);
        QueueMessageOutcome poisoned = await function.HandleAsync(garbage, durable, CancellationToken.None);
        Assert.Equal(QueueMessageDisposition.Poison, poisoned.Disposition);
        var poison = new QueueClient(storage.ConnectionString, BatchQueueNames.PoisonOf(QueueName), new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        PoisonMessage envelope = Assert.Single((await poison.PeekMessagesAsync(32)).Value.Select(m => PoisonMessage.FromJson(m.MessageText)!), p => p.MessageId == "fn-msg-2");
        Assert.Equal("<<not a batch>>", envelope.OriginalMessage);
        Assert.Equal(poisoned.Reason, envelope.Reason);
        Assert.Equal(2, envelope.DequeueCount);
    }

    [Fact]
    public async Task The_activity_functions_run_a_chunk_and_record_unstarted_jobs_through_the_shared_classes()
    {
        var functions = ActivatorUtilities.CreateInstance<BatchOrchestrationFunctions>(services);
        IBatchStore store = services.GetRequiredService<IBatchStore>();
        using JsonDocument payload = JsonDocument.Parse("""{"x":1}""");
        const string jobsKey = "fn-chunk-jobs";
        await store.SaveJobsAsync("fn-chunk", jobsKey, [
            new ScheduledJob(0, "a", "echo", payload.RootElement.Clone()),
            new ScheduledJob(1, "b", "fail", null),
            new ScheduledJob(2, "c", "echo", null)]);

        // The inputs travel as JSON from the orchestrator (the SDK's converter), as under Functions.
        ChunkSummary summary = Assert.IsType<ChunkSummary>(await functions.ExecuteJobs(AsSent(new JobChunk
        {
            BatchId = "fn-chunk",
            JobsKey = jobsKey,
            Start = 0,
            Count = 2,
            Parallelism = 2,
            DeadlineUtc = DateTime.UtcNow.AddMinutes(1),
        })));
        int unstarted = await functions.RecordUnstarted(AsSent(new UnstartedJobs
        {
            BatchId = "fn-chunk",
            JobsKey = jobsKey,
            Ranges = [new JobRange(2, 1)],
            Status = JobStatus.Cancelled,
            StoppedAtUtc = DateTime.UtcNow,
        }));

        Assert.Equal((1, 1), (summary.Succeeded, summary.Failed));
        Assert.Equal(1, unstarted);
        ResultPage recorded = await store.QueryAsync("fn-chunk", null, 10, null);
        Assert.Equal([JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled], recorded.Items.Select(r => r.Status));
        Assert.Equal(1, recorded.Items[0].Output!.Value.GetProperty("x").GetInt32());
        Assert.Equal(0, recorded.Items[2].Attempts);
    }

    [Fact]
    public async Task The_hook_activity_function_puts_a_finished_batchs_view_on_the_queue_through_the_shared_classes()
    {
        var functions = ActivatorUtilities.CreateInstance<HookFunctions>(services);
        Client.BatchClient batches = host.App.Services.GetRequiredService<Client.BatchClient>();
        string id = "fn-hook-" + Guid.NewGuid().ToString("N")[..8];
        Client.SubmitOutcome submitted = await batches.SubmitAsync(new BatchRequest { BatchId = id, Jobs = [new JobSpec { Type = "echo" }] });
        Assert.True(submitted.Accepted, submitted.Validation.ToString());
        await Eventually.MatchAsync(async () => await batches.GetAsync(id), v => v is { IsFinished: true }, TimeSpan.FromSeconds(60));
        string queue = "fn-hooks-" + Guid.NewGuid().ToString("N")[..8];

        object outcome = await functions.DeliverBatchHook(
            AsSent(new Orchestration.Hooks.HookStep { BatchId = id, Kind = Orchestration.Hooks.HookStepKind.Queue, Target = queue }), durable, CancellationToken.None);

        Assert.Equal(Orchestration.Hooks.HookStepState.Delivered, Assert.IsType<Orchestration.Hooks.HookAttemptOutcome>(outcome).State);
        QueueMessage message = (await new QueueClient(storage.ConnectionString, queue).ReceiveMessageAsync()).Value;
        using JsonDocument view = JsonDocument.Parse(message.Body.ToString());
        Assert.Equal((id, "Completed"), (view.RootElement.GetProperty("id").GetString(), view.RootElement.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Limit_functions_refuse_a_zero_maximum_declare_list_and_sample_a_limit_that_the_functions_activity_obeys()
    {
        var limits = ActivatorUtilities.CreateInstance<LimitFunctions>(services);
        var functions = ActivatorUtilities.CreateInstance<BatchOrchestrationFunctions>(services);
        string name = "fn-lim-" + Guid.NewGuid().ToString("N")[..8];

        (int refused, JsonElement problem, HttpContext refusedContext) = await CallAsync(c => limits.SetLimit(c.Request, name, CancellationToken.None), "PUT", $"/api/limits/{name}", """{"maxConcurrent":0}""");
        Assert.Equal(StatusCodes.Status400BadRequest, refused);
        Assert.Equal("application/problem+json", refusedContext.Response.ContentType);
        Assert.True(problem.GetProperty("errors").TryGetProperty("maxConcurrent", out _));
        JsonElement none = (await CallAsync(c => limits.ListLimits(c.Request, CancellationToken.None), "GET", "/api/limits")).Body;
        Assert.DoesNotContain(none.GetProperty("items").EnumerateArray(), l => l.GetProperty("name").GetString() == name);

        Assert.Equal(StatusCodes.Status201Created, (await CallAsync(c => limits.SetLimit(c.Request, name, CancellationToken.None), "PUT", $"/api/limits/{name}", """{"maxConcurrent":2}""")).Status);
        Assert.Equal(StatusCodes.Status200OK, (await CallAsync(c => limits.SetLimit(c.Request, name, CancellationToken.None), "PUT", $"/api/limits/{name}", """{"maxConcurrent":2}""")).Status);
        JsonElement listed = Assert.Single(
            (await CallAsync(c => limits.ListLimits(c.Request, CancellationToken.None), "GET", "/api/limits")).Body.GetProperty("items").EnumerateArray(),
            l => l.GetProperty("name").GetString() == name);
        Assert.Equal((2, 2, 0, 0), (listed.GetProperty("maxConcurrent").GetInt32(), listed.GetProperty("effective").GetInt32(), listed.GetProperty("inUse").GetInt32(), listed.GetProperty("waitingBatches").GetInt32()));

        // Six 300 ms jobs at parallelism 6 through the Functions activity, their type mapped to the limit of 2.
        IBatchStore store = services.GetRequiredService<IBatchStore>();
        string batchId = name + "-batch";
        using JsonDocument payload = JsonDocument.Parse("""{"ms":300}""");
        await store.SaveJobsAsync(batchId, "jobs", Enumerable.Range(0, 6).Select(i => new ScheduledJob(i, $"j{i}", "delay", payload.RootElement.Clone())).ToList());
        ChunkSummary summary = Assert.IsType<ChunkSummary>(await functions.ExecuteJobs(AsSent(new JobChunk
        {
            BatchId = batchId,
            JobsKey = "jobs",
            Start = 0,
            Count = 6,
            Parallelism = 6,
            DeadlineUtc = DateTime.UtcNow.AddMinutes(2),
            Limits = new Dictionary<string, IReadOnlyList<string>> { ["delay"] = [name] },
        })));
        Assert.Equal(6, summary.Succeeded);
        var intervals = (await store.QueryAsync(batchId, null, 10, null)).Items.Select(r => (r.StartedAt!.Value, r.FinishedAt!.Value)).ToList();
        int peak = intervals.Max(i => intervals.Count(o => o.Item1 <= i.Item1 && i.Item1 < o.Item2));
        Assert.InRange(peak, 1, 2);

        (int timelineStatus, JsonElement timeline, _) = await CallAsync(c => limits.GetLimitTimeline(c.Request, name, CancellationToken.None), "GET", $"/api/limits/{name}/timeline");
        Assert.Equal(StatusCodes.Status200OK, timelineStatus);
        Assert.Equal(2, timeline.GetProperty("points").EnumerateArray().First().GetProperty("maxConcurrent").GetInt32());
        Assert.Equal(StatusCodes.Status404NotFound, (await CallAsync(c => limits.GetLimitTimeline(c.Request, "fn-none", CancellationToken.None), "GET", "/api/limits/fn-none/timeline")).Status);
    }

    [Fact]
    public async Task A_limit_put_again_after_throttling_cut_it_starts_over_at_its_new_maximum_with_the_bucket_within_the_new_burst()
    {
        var limits = ActivatorUtilities.CreateInstance<LimitFunctions>(services);
        ILimitStore store = services.GetRequiredService<ILimitStore>();
        string name = "fn-cut-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(StatusCodes.Status201Created, (await CallAsync(c => limits.SetLimit(c.Request, name, CancellationToken.None), "PUT", $"/api/limits/{name}", """{"maxConcurrent":8,"ratePerSecond":50,"burst":40}""")).Status);

        // What the workers write when a downstream throttled: the effective concurrency cut to 2, a cut time, clean completions counted.
        LimitRow stored = (await store.ReadAsync(name, CancellationToken.None))!;
        Assert.NotNull(await store.TryWriteAsync(stored with { Effective = 2, CutAt = DateTimeOffset.UtcNow, Clean = 1 }, CancellationToken.None));
        JsonElement cut = Assert.Single(
            (await CallAsync(c => limits.ListLimits(c.Request, CancellationToken.None), "GET", "/api/limits")).Body.GetProperty("items").EnumerateArray(),
            l => l.GetProperty("name").GetString() == name);
        Assert.Equal(2, cut.GetProperty("effective").GetInt32());

        Assert.Equal(StatusCodes.Status200OK, (await CallAsync(c => limits.SetLimit(c.Request, name, CancellationToken.None), "PUT", $"/api/limits/{name}", """{"maxConcurrent":12,"ratePerSecond":50,"burst":10}""")).Status);

        LimitRow row = (await store.ReadAsync(name, CancellationToken.None))!;
        Assert.Equal((12, (int?)null, (DateTimeOffset?)null, 0), (row.Settings.MaxConcurrent!.Value, row.Effective, row.CutAt, row.Clean));
        Assert.InRange(row.Tokens, 0, 10);
        JsonElement listed = Assert.Single(
            (await CallAsync(c => limits.ListLimits(c.Request, CancellationToken.None), "GET", "/api/limits")).Body.GetProperty("items").EnumerateArray(),
            l => l.GetProperty("name").GetString() == name);
        Assert.Equal((12, 12, 10), (listed.GetProperty("maxConcurrent").GetInt32(), listed.GetProperty("effective").GetInt32(), listed.GetProperty("burst").GetInt32()));
    }

    private static JsonElement AsSent<T>(T input) =>
        JsonDocument.Parse(Microsoft.DurableTask.Converters.JsonDataConverter.Default.Serialize(input)!).RootElement.Clone();

    private async Task<(int Status, JsonElement Body, HttpContext Context)> CallAsync(
        Func<HttpContext, Task<IResult>> function, string method, string path, string? json = null, string query = "")
    {
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("functions.test");
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);
        if (json is not null)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(json);
            context.Request.ContentType = "application/json";
            context.Request.ContentLength = bytes.Length;
            context.Request.Body = new MemoryStream(bytes);
        }

        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;

        // What the Functions ASP.NET Core integration does with an IResult.
        IResult result = await function(context);
        await result.ExecuteAsync(context);
        JsonElement body = responseBody.Length == 0 ? default : JsonDocument.Parse(responseBody.ToArray()).RootElement.Clone();
        return (context.Response.StatusCode, body, context);
    }
}
