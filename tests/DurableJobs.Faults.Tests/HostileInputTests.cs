using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Api.Queue;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class HostileInputTests(EmulatorFixture storage, ITestOutputHelper output)
{
    private const int MaxJobs = 2_000;
    private const int MaxPayload = 16 * 1024;

    /// <summary>
    /// Each hostile input: a name, the body, and what the answer must name (a field path or words of the reason).
    /// The limits are lowered for this API process (2,000 jobs, 16 KB payloads) so the same inputs also fit in a
    /// 64 KB queue message.
    /// </summary>
    private static readonly (string Name, byte[] Body, HttpStatusCode Status, string Code, string Mentions)[] Inputs =
    [
        ("malformed JSON", Utf8("""{"batchId":"h-malformed","jobs":[{"type":"echo"}"""), HttpStatusCode.BadRequest, "malformed-json", "not valid JSON"),
        ("wrong JSON types", Utf8("""{"batchId":"h-types","maxParallel":"ten","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "wrong-json-type", "maxParallel"),
        ("jobs not an array", Utf8("""{"batchId":"h-jobs-type","jobs":{"type":"echo"}}"""), HttpStatusCode.BadRequest, "wrong-json-type", "jobs"),
        ("negative cap", Utf8("""{"batchId":"h-cap-neg","maxParallel":-5,"jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "maxParallel"),
        ("zero cap", Utf8("""{"batchId":"h-cap-zero","maxParallel":0,"jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "maxParallel"),
        ("zero jobs", Utf8("""{"batchId":"h-nojobs","jobs":[]}"""), HttpStatusCode.BadRequest, "validation-failed", "at least one job"),
        ("too many jobs", Utf8($$"""{"batchId":"h-toomany","jobs":[{{string.Join(",", Enumerable.Repeat("""{"type":"echo"}""", MaxJobs + 1))}}]}"""), HttpStatusCode.BadRequest, "validation-failed", $"at most {MaxJobs} jobs"),
        ("oversized payload", Utf8($$"""{"batchId":"h-bigpayload","jobs":[{"type":"echo","payload":"{{new string('x', MaxPayload + 1)}}"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "jobs[0].payload"),
        ("unknown job type", Utf8("""{"batchId":"h-unknown","jobs":[{"type":"rm-rf"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "Unknown job type 'rm-rf'"),
        ("zero deadline", Utf8("""{"batchId":"h-deadline-zero","deadlineSeconds":0,"jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "deadlineSeconds"),
        ("negative deadline", Utf8("""{"batchId":"h-deadline-neg","deadlineSeconds":-60,"jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "deadlineSeconds"),
        ("duplicate job ids", Utf8("""{"batchId":"h-dupes","jobs":[{"id":"a","type":"echo"},{"id":"a","type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "Duplicate job id 'a'"),
        ("invalid UTF-8", [.. Utf8("""{"batchId":"h-utf8","jobs":[{"type":"echo","payload":" """), 0xC3, 0x28, 0xFF, .. Utf8("\"}]}")], HttpStatusCode.BadRequest, "invalid-utf8", "not valid UTF-8"),
        ("deeply nested JSON", Utf8($$"""{"batchId":"h-deep","jobs":[{"type":"echo","payload":{{new string('[', 10_000)}}{{new string(']', 10_000)}}}]}"""), HttpStatusCode.BadRequest, "json-too-deep", "nests too deeply"),
        ("batch id with '/'", Utf8("""{"batchId":"h/slash","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("batch id with '#' and '?'", Utf8("""{"batchId":"h#hash?q","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("batch id with '\\'", Utf8("""{"batchId":"h\\back","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("batch id with a control character", Utf8("""{"batchId":"h\u0001ctl","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("batch id with a space and non-ASCII", Utf8("""{"batchId":"h é","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("batch id of 300 characters", Utf8($$"""{"batchId":"{{new string('h', 300)}}","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
        ("empty batch id", Utf8("""{"batchId":"","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", "batchId"),
    ];

    [Fact]
    public async Task Hostile_input_over_http_and_the_queue_is_refused_with_a_reason_and_creates_nothing()
    {
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsHostile", output, new Dictionary<string, string>
        {
            ["DurableJobs__Limits__MaxJobsPerBatch"] = MaxJobs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DurableJobs__Limits__MaxPayloadBytes"] = MaxPayload.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        try
        {
            // A worker too, so anything wrongly accepted would also run.
            await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Queue__Enabled"] = "true" });
            using var client = new BatchApi(api.BaseAddress!);

            foreach ((string name, byte[] body, HttpStatusCode status, string code, string mentions) in Inputs)
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using HttpResponseMessage response = await client.Http.PostAsync("/api/batches", content);
                string answer = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == status, $"{name}: expected {(int)status}, got {(int)response.StatusCode} {answer}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(code, JsonDocument.Parse(answer).RootElement.GetProperty("code").GetString());
                Assert.True(answer.Contains(mentions, StringComparison.Ordinal) || answer.Contains(JsonEncodedText.Encode(mentions).ToString(), StringComparison.Ordinal), $"{name}: the answer does not mention '{mentions}': {answer}");
            }

            string fiftyMb = await PostFiftyMegabytesAsync(api.BaseAddress!);

            // The queue versions: every input that fits in a queue message (64 KB), as the processor reads it.
            var queues = new QueueServiceClient(storage.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
            string queueName = cluster.HubName.ToLowerInvariant() + "-batches";
            QueueClient queue = queues.GetQueueClient(queueName);
            QueueClient poison = queues.GetQueueClient(BatchQueueNames.PoisonOf(queueName));
            await queue.CreateIfNotExistsAsync();
            await poison.CreateIfNotExistsAsync();
            var sent = new List<(string Name, string Text, string Mentions)>();
            foreach ((string name, byte[] body, _, _, string mentions) in Inputs)
            {
                // Queue messages are text: bytes that are not UTF-8 can only travel base64-encoded.
                string text = name == "invalid UTF-8" ? Convert.ToBase64String(body) : Encoding.UTF8.GetString(body);
                await queue.SendMessageAsync(text);
                sent.Add((name, text, mentions));
            }

            var poisoned = new List<PoisonMessage>();
            var clock = Stopwatch.StartNew();
            while (poisoned.Count < sent.Count && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                QueueMessage[] messages = (await poison.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
                poisoned.AddRange(messages.Select(m => PoisonMessage.FromJson(m.MessageText)!));
                if (messages.Length == 0)
                {
                    await Task.Delay(250);
                }
            }

            foreach ((string name, string text, string mentions) in sent)
            {
                PoisonMessage? envelope = poisoned.FirstOrDefault(p => p.OriginalMessage == text || (p.OriginalTruncated && text.StartsWith(p.OriginalMessage, StringComparison.Ordinal)));
                Assert.True(envelope is not null, $"{name}: no poison message");
                Assert.True(envelope!.Reason.Contains(mentions, StringComparison.Ordinal), $"{name}: the poison reason does not mention '{mentions}': {envelope.Reason}");
            }

            // Nothing was created: no batch listed, no jobs stored, nothing left in the queue.
            Assert.Empty(await client.ListIdsAsync());
            var jobs = new BlobContainerClient(storage.ConnectionString, cluster.HubName.ToLowerInvariant() + "-batches");
            int stored = 0;
            if (await jobs.ExistsAsync())
            {
                await foreach (Azure.Storage.Blobs.Models.BlobItem blob in jobs.GetBlobsAsync())
                {
                    stored++;
                }
            }

            Assert.Equal(0, stored);
            Assert.Equal(0, (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);

            Figures.Report(output, "hostile", $"{Inputs.Length} hostile inputs over HTTP each refused with a problem naming the cause, plus a 50 MB body ({fiftyMb}); {sent.Count} queue versions each in the poison queue with the reason; batches created: 0");
            Figures.Report(output, "hostile", "inputs: " + string.Join("; ", Inputs.Select(i => i.Name)) + "; 50 MB body (HTTP only: a queue message holds 64 KB)");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    /// <summary>
    /// Declares and starts sending a 50 MB body over a raw socket (HttpClient would finish sending before it reads an
    /// early answer) and returns what happened: the server must answer 413 long before the end.
    /// </summary>
    private static async Task<string> PostFiftyMegabytesAsync(Uri api)
    {
        const long total = 50L * 1024 * 1024;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(api.Host, api.Port);
        NetworkStream net = tcp.GetStream();
        await net.WriteAsync(Utf8($"POST /api/batches HTTP/1.1\r\nHost: {api.Authority}\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n"));
        byte[] block = Enumerable.Repeat((byte)'[', 64 * 1024).ToArray();
        long sent = 0;
        try
        {
            while (sent < total && tcp.Available == 0)
            {
                await net.WriteAsync(block);
                sent += block.Length;
            }
        }
        catch (IOException)
        {
            // The server closed the connection: it reads no further.
        }

        var answer = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int read;
            while ((read = await net.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Write(buffer, 0, read);
                if (Encoding.UTF8.GetString(answer.ToArray()).Contains("}", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // Reset after the answer arrived.
        }

        string response = Encoding.UTF8.GetString(answer.ToArray());
        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Contains("body-too-large", response, StringComparison.Ordinal);
        Assert.True(sent < total, $"the whole 50 MB was sent before the answer");
        return $"413 body-too-large after {sent / 1024} KB of 50 MB sent";
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
