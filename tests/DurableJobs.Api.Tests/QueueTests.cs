using System.Text;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;
using DurableJobs.Client;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Tests;

public sealed class QueueHostFixture : HostFixture
{
    protected override string HubName => "ApiQueueTests";

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["DurableJobs:Queue:Enabled"] = "true",
    };
}

[Collection(StorageCollection.Name)]
public sealed class QueueTests(EmulatorFixture storage, QueueHostFixture fixture) : IClassFixture<QueueHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private RunningHost host = null!;
    private QueueClient queue = null!;
    private QueueClient poison = null!;

    public async Task InitializeAsync()
    {
        host = await fixture.GetAsync(storage);
        var queues = new QueueServiceClient(storage.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        queue = queues.GetQueueClient(host.QueueName);
        poison = queues.GetQueueClient(BatchQueueNames.PoisonOf(host.QueueName));
        await queue.CreateIfNotExistsAsync();
        await poison.CreateIfNotExistsAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_plain_json_message_runs_a_batch()
    {
        await queue.SendMessageAsync("""{"batchId":"queue-plain","jobs":[{"type":"echo","payload":"hi"}]}""");
        BatchView view = await WaitForBatchAsync("queue-plain", BatchStatus.Completed);
        Assert.Equal(1, view.Succeeded);
    }

    [Fact]
    public async Task A_base64_message_runs_a_batch()
    {
        string json = """{"batchId":"queue-base64","jobs":[{"type":"echo"},{"type":"echo"}]}""";
        await queue.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        BatchView view = await WaitForBatchAsync("queue-base64", BatchStatus.Completed);
        Assert.Equal(2, view.Succeeded);
    }

    [Fact]
    public async Task A_message_without_a_batch_id_takes_one_derived_from_its_message_id()
    {
        SendReceipt receipt = (await queue.SendMessageAsync("""{"jobs":[{"type":"echo"}]}""")).Value;
        await WaitForBatchAsync(BatchQueueMessageProcessor.DeriveBatchId(receipt.MessageId), BatchStatus.Completed);
    }

    [Theory]
    [InlineData("this is not json {", "neither JSON nor base64")]
    [InlineData("""{"batchId":"queue-invalid","jobs":[{"type":"no-such-type"}]}""", "jobs[0].type")]
    [InlineData("""{"batchId":"queue-types","jobs":"many"}""", "wrong JSON type")]
    public async Task Garbage_lands_in_the_poison_queue_with_the_reason(string message, string reasonMentions)
    {
        string marker = Guid.NewGuid().ToString("N");
        string text = message.Replace("queue-", $"queue-{marker[..8]}-", StringComparison.Ordinal) + (message.StartsWith('{') ? string.Empty : marker);
        await queue.SendMessageAsync(text);

        PoisonMessage? envelope = await Eventually.MatchAsync(
            async () => (await poison.PeekMessagesAsync(32)).Value.Select(m => PoisonMessage.FromJson(m.MessageText)!).FirstOrDefault(p => p.OriginalMessage == text),
            p => p is not null,
            Timeout,
            TimeSpan.FromMilliseconds(200),
            "poison message");
        Assert.Contains(reasonMentions, envelope!.Reason, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(envelope.MessageId));
        Assert.Equal(1, envelope.DequeueCount);
        Assert.True(envelope.FailedAt > DateTimeOffset.UtcNow.AddMinutes(-5));
        await Eventually.MatchAsync(async () => (await queue.PeekMessagesAsync(32)).Value.Any(m => m.MessageText == text), present => !present, Timeout, what: "message removed from the queue");
        Assert.DoesNotContain((await host.Batches.ListAsync(top: 1000)).Items, b => b.Id.Contains(marker[..8], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_duplicate_message_yields_one_batch()
    {
        int before = (await host.Batches.ListAsync(top: 1000)).Items.Count;
        string json = """{"batchId":"queue-dup","jobs":[{"type":"echo"}]}""";
        await queue.SendMessageAsync(json);
        await queue.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));

        await WaitForBatchAsync("queue-dup", BatchStatus.Completed);
        await Eventually.MatchAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0, Timeout, what: "queue drained");
        Assert.Equal(before + 1, (await host.Batches.ListAsync(top: 1000)).Items.Count);
        Assert.DoesNotContain((await poison.PeekMessagesAsync(32)).Value, m => m.MessageText.Contains("queue-dup", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_redelivered_message_starts_nothing_new()
    {
        var processor = host.App.Services.GetRequiredService<BatchQueueMessageProcessor>();
        const string text = """{"jobs":[{"type":"echo"}]}""";
        QueueMessageOutcome first = await processor.ProcessAsync(text, "redelivered-message-id", host.Batches, CancellationToken.None);
        QueueMessageOutcome second = await processor.ProcessAsync(text, "redelivered-message-id", host.Batches, CancellationToken.None);
        Assert.Equal(QueueMessageDisposition.Started, first.Disposition);
        Assert.Equal(QueueMessageDisposition.AlreadyExisted, second.Disposition);
        Assert.Equal(first.BatchId, second.BatchId);
        Assert.Equal(BatchQueueMessageProcessor.DeriveBatchId("redelivered-message-id"), first.BatchId);
    }

    [Fact]
    public async Task An_unknown_job_type_reaches_the_log_escaped_on_one_line()
    {
        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var processor = new BatchQueueMessageProcessor(factory.CreateLogger<BatchQueueMessageProcessor>());
        const string text = """{"jobs":[{"type":"x\r\n03:00:00 crit: [forged] storage deleted\u001b[2J"}]}""";

        QueueMessageOutcome outcome = await processor.ProcessAsync(text, "forged-type-message", host.Batches, CancellationToken.None);

        Assert.Equal(QueueMessageDisposition.Poison, outcome.Disposition);
        CapturedLogs.CapturedLine line = Assert.Single(logs.Lines, l => l.Message.Contains("forged-type-message", StringComparison.Ordinal));
        Assert.DoesNotContain(line.Message, c => char.IsControl(c));
        Assert.Contains("Unknown job type 'x\\u000D\\u000A03:00:00 crit: [forged] storage deleted\\u001B[2J'", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(outcome.Reason!, c => char.IsControl(c));
    }

    private async Task<BatchView> WaitForBatchAsync(string id, BatchStatus status) =>
        (await Eventually.MatchAsync(() => host.Batches.GetAsync(id), v => v?.Status == status, Timeout, TimeSpan.FromMilliseconds(200), $"batch {id} {status}"))!;
}
