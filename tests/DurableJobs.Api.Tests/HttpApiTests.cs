using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

public sealed class HttpApiHostFixture : HostFixture
{
    public const long BodyLimit = 256 * 1024;

    protected override string HubName => "ApiHttpTests";

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["DurableJobs:Api:MaxRequestBodyBytes"] = BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

[Collection(StorageCollection.Name)]
public sealed class HttpApiTests(EmulatorFixture storage, HttpApiHostFixture fixture) : IClassFixture<HttpApiHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan BatchTimeout = TimeSpan.FromSeconds(60);
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Submitted_batch_runs_and_its_jobs_page_through()
    {
        string body = """
            {"batchId":"http-run","maxParallel":2,"jobs":[
              {"id":"a","type":"echo","payload":{"n":1}},
              {"id":"b","type":"echo","payload":{"n":2}},
              {"id":"c","type":"echo","payload":{"n":3}},
              {"id":"d","type":"fail","payload":{"message":"nope"}}]}
            """;
        using HttpResponseMessage submitted = await PostJsonAsync("/api/batches", body);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        JsonElement accepted = await ReadJsonAsync(submitted);
        Assert.Equal("http-run", accepted.GetProperty("id").GetString());
        Assert.False(accepted.GetProperty("existing").GetBoolean());
        Uri status = new(accepted.GetProperty("statusQueryGetUri").GetString()!);
        Assert.Equal(status, submitted.Headers.Location);
        Assert.Equal(new Uri(host.BaseAddress, "/api/batches/http-run"), status);
        Assert.Equal(new Uri(host.BaseAddress, "/api/batches/http-run/cancel"), new Uri(accepted.GetProperty("cancelPostUri").GetString()!));
        Uri jobs = new(accepted.GetProperty("jobsGetUri").GetString()!);
        Assert.Equal(new Uri(host.BaseAddress, "/api/batches/http-run/jobs"), jobs);

        JsonElement view = await WaitForStatusAsync(status, "Completed");
        Assert.Equal(4, view.GetProperty("total").GetInt32());
        Assert.Equal(3, view.GetProperty("succeeded").GetInt32());
        Assert.Equal(1, view.GetProperty("failed").GetInt32());
        Assert.Equal(0, view.GetProperty("pending").GetInt32());
        Assert.Equal(2, view.GetProperty("maxParallel").GetInt32());
        foreach (string field in new[] { "timedOut", "cancelled", "running", "createdAt", "lastUpdatedAt", "completedAt" })
        {
            Assert.True(view.TryGetProperty(field, out _), field);
        }

        JsonElement first = await GetJsonAsync($"{jobs}?top=3");
        Assert.Equal(["a", "b", "c"], first.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!));
        string token = first.GetProperty("continuationToken").GetString()!;
        JsonElement second = await GetJsonAsync($"{jobs}?top=3&continuationToken={token}");
        JsonElement last = Assert.Single(second.GetProperty("items").EnumerateArray());
        Assert.Equal("d", last.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, second.GetProperty("continuationToken").ValueKind);

        JsonElement echoed = first.GetProperty("items")[1];
        Assert.Equal("Succeeded", echoed.GetProperty("status").GetString());
        Assert.Equal("echo", echoed.GetProperty("type").GetString());
        Assert.Equal(1, echoed.GetProperty("attempts").GetInt32());
        Assert.Equal(2, echoed.GetProperty("output").GetProperty("n").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, echoed.GetProperty("startedAt").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, echoed.GetProperty("finishedAt").ValueKind);
        Assert.False(string.IsNullOrEmpty(echoed.GetProperty("worker").GetString()));

        JsonElement failed = Assert.Single((await GetJsonAsync($"{jobs}?status=failed")).GetProperty("items").EnumerateArray());
        Assert.Equal("d", failed.GetProperty("id").GetString());
        Assert.Equal("nope", failed.GetProperty("error").GetProperty("message").GetString());

        JsonElement completed = await GetJsonAsync("/api/batches?status=Completed&top=100");
        Assert.Contains(completed.GetProperty("items").EnumerateArray(), b => b.GetProperty("id").GetString() == "http-run");
    }

    [Fact]
    public async Task Resubmitting_a_batch_id_answers_with_the_existing_batch_and_starts_nothing()
    {
        string first = """{"batchId":"http-twice","jobs":[{"type":"echo","payload":1}]}""";
        string second = """{"batchId":"http-twice","jobs":[{"type":"echo","payload":1},{"type":"echo","payload":2}]}""";
        using HttpResponseMessage one = await PostJsonAsync("/api/batches", first);
        Assert.Equal(HttpStatusCode.Accepted, one.StatusCode);
        Assert.False((await ReadJsonAsync(one)).GetProperty("existing").GetBoolean());

        using HttpResponseMessage two = await PostJsonAsync("/api/batches", second);
        Assert.Equal(HttpStatusCode.Accepted, two.StatusCode);
        JsonElement again = await ReadJsonAsync(two);
        Assert.True(again.GetProperty("existing").GetBoolean());
        Assert.Equal("http-twice", again.GetProperty("id").GetString());
        Assert.Equal(one.Headers.Location, two.Headers.Location);

        // The first submission's batch is the one that runs: one job, not two.
        JsonElement view = await WaitForStatusAsync(two.Headers.Location!, "Completed");
        Assert.Equal(1, view.GetProperty("total").GetInt32());
        JsonElement all = await GetJsonAsync("/api/batches?top=1000");
        Assert.Single(all.GetProperty("items").EnumerateArray(), b => b.GetProperty("id").GetString() == "http-twice");
    }

    [Fact]
    public async Task A_batch_without_an_id_gets_one()
    {
        using HttpResponseMessage response = await PostJsonAsync("/api/batches", """{"jobs":[{"type":"echo"}]}""", "application/json; charset=utf-8");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        string id = (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", id);
        await WaitForStatusAsync(response.Headers.Location!, "Completed");
    }

    [Fact]
    public async Task Cancel_is_accepted_while_running_refused_once_finished_and_404_when_unknown()
    {
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", """{"batchId":"http-cancel","maxParallel":1,"jobs":[{"type":"delay","payload":{"ms":30000}},{"type":"delay","payload":{"ms":30000}}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Uri cancel = new((await ReadJsonAsync(submitted)).GetProperty("cancelPostUri").GetString()!);
        await WaitForStatusAsync(submitted.Headers.Location!, "Running");

        using HttpResponseMessage accepted = await PostJsonAsync(cancel.ToString(), """{"reason":"test"}""");
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("http-cancel", (await ReadJsonAsync(accepted)).GetProperty("id").GetString());
        JsonElement view = await WaitForStatusAsync(submitted.Headers.Location!, "Cancelled");
        Assert.Equal(2, view.GetProperty("cancelled").GetInt32());

        using HttpResponseMessage finished = await PostJsonAsync(cancel.ToString(), "{}");
        await Problems.AssertAsync(finished, HttpStatusCode.Conflict, "batch-already-finished");

        using HttpResponseMessage unknown = await PostJsonAsync("/api/batches/no-such-batch/cancel", "{}");
        await Problems.AssertAsync(unknown, HttpStatusCode.NotFound, "batch-not-found");
    }

    [Theory]
    [InlineData("/api/batches/http-any/cancel?reason=oops", "{}", HttpStatusCode.BadRequest, "invalid-query", "reason")]
    [InlineData("/api/batches/http-any/cancel", "{\"reason\":", HttpStatusCode.BadRequest, "malformed-json", null)]
    [InlineData("/api/batches/http-any/cancel", "{\"reason\":7}", HttpStatusCode.BadRequest, "wrong-json-type", "reason")]
    [InlineData("/api/batches/http-any/cancel", "[]", HttpStatusCode.BadRequest, "wrong-json-type", "")]
    [InlineData("/api/batches/http-any/cancel", "{\"reason\":\"{501}\"}", HttpStatusCode.BadRequest, "validation-failed", "reason")]
    public async Task A_cancel_body_that_is_not_a_cancel_request_is_a_400_naming_the_field(string path, string body, HttpStatusCode status, string code, string? field)
    {
        using HttpResponseMessage response = await PostJsonAsync(path, body.Replace("{501}", new string('r', 501), StringComparison.Ordinal));
        JsonElement problem = await Problems.AssertAsync(response, status, code);
        if (field is not null)
        {
            Assert.Equal([field], Problems.ErrorKeys(problem));
        }
    }

    [Fact]
    public async Task Unknown_batches_are_404_problems()
    {
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/no-such-batch"), HttpStatusCode.NotFound, "batch-not-found");
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/no-such-batch/jobs"), HttpStatusCode.NotFound, "batch-not-found");
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/bad%20id!"), HttpStatusCode.NotFound, "batch-not-found");
    }

    public static TheoryData<string, string?, byte[], HttpStatusCode, string, string[]> BadSubmissions() => new()
    {
        { "bad-malformed", "application/json", Utf8("""{"batchId":"bad-malformed","jobs":[{"type":"echo"}"""), HttpStatusCode.BadRequest, "malformed-json", [] },
        { "bad-trailing", "application/json", Utf8("""{"batchId":"bad-trailing","jobs":[{"type":"echo"}]} {}"""), HttpStatusCode.BadRequest, "malformed-json", [] },
        { "bad-types", "application/json", Utf8("""{"batchId":"bad-types","jobs":[{"type":"echo"}],"maxParallel":"ten"}"""), HttpStatusCode.BadRequest, "wrong-json-type", ["maxParallel"] },
        { "bad-array", "application/json", Utf8("""[{"batchId":"bad-array"}]"""), HttpStatusCode.BadRequest, "wrong-json-type", [""] },
        { "bad-valid", "application/json", Utf8("""{"batchId":"bad-valid","maxParallel":0,"jobs":[{"type":"nope"},{"id":"x","type":"echo"},{"id":"x","type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["jobs[0].type", "jobs[2].id", "maxParallel"] },
        { "bad-nojobs", "application/json", Utf8("""{"batchId":"bad-nojobs","jobs":[]}"""), HttpStatusCode.BadRequest, "validation-failed", ["jobs"] },
        { "bad-null", "application/json", Utf8("null"), HttpStatusCode.BadRequest, "validation-failed", [""] },
        { "bad-empty", "application/json", [], HttpStatusCode.BadRequest, "empty-body", [] },
        { "bad-text", "text/plain", Utf8("""{"batchId":"bad-text","jobs":[{"type":"echo"}]}"""), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", [] },
        { "bad-notype", null, Utf8("""{"batchId":"bad-notype","jobs":[{"type":"echo"}]}"""), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", [] },
        { "bad-charset", "application/json; charset=utf-16", Utf8("""{"batchId":"bad-charset","jobs":[{"type":"echo"}]}"""), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type", [] },
        { "bad-utf8", "application/json", [.. Utf8("""{"batchId":"bad-utf8","jobs":[{"type":"echo","payload":" """), 0xC3, 0x28, .. Utf8("\"}]}")], HttpStatusCode.BadRequest, "invalid-utf8", [] },
        { "bad-deep", "application/json", Utf8($$"""{"batchId":"bad-deep","jobs":[{"type":"echo","payload":{{new string('[', 100)}}{{new string(']', 100)}}}]}"""), HttpStatusCode.BadRequest, "json-too-deep", [] },
        { "..", "application/json", Utf8("""{"batchId":"..","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["batchId"] },
        { "bad-dot.", "application/json", Utf8("""{"batchId":"bad-dot.","jobs":[{"type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["batchId"] },
        { "bad-dotjob", "application/json", Utf8("""{"batchId":"bad-dotjob","jobs":[{"id":".","type":"echo"},{"id":"..","type":"echo"}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["jobs[0].id", "jobs[1].id"] },
        { "bad-hash", "application/json", Utf8("""{"batchId":"bad-hash","jobs":[{"type":"hash","payload":{"iterations":9000000000000000000}}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["jobs[0].payload.iterations"] },
        { "bad-delay", "application/json", Utf8("""{"batchId":"bad-delay","jobs":[{"type":"delay","payload":{"ms":9000000000000000000}}]}"""), HttpStatusCode.BadRequest, "validation-failed", ["jobs[0].payload.ms"] },
        { "bad-hook", "application/json", Utf8("""{"batchId":"bad-hook","jobs":[{"type":"echo"}],"onComplete":{"webhook":"https://169.254.169.254/latest","queue":"Bad_Queue"}}"""), HttpStatusCode.BadRequest, "validation-failed", ["onComplete.queue", "onComplete.webhook"] },
        { "bad-next", "application/json", Utf8("""{"batchId":"bad-next","jobs":[{"type":"echo"}],"next":{"batch":{"jobs":[{"type":"nope"}]}}}"""), HttpStatusCode.BadRequest, "validation-failed", ["next.batch.jobs[0].type"] },
        { "bad-large", "application/json", Utf8($$"""{"batchId":"bad-large","jobs":[{"type":"echo","payload":"{{new string('x', (int)HttpApiHostFixture.BodyLimit)}}"}]}"""), HttpStatusCode.RequestEntityTooLarge, "body-too-large", [] },
    };

    [Theory]
    [MemberData(nameof(BadSubmissions))]
    public async Task Bad_submissions_are_problems_and_create_nothing(string batchId, string? contentType, byte[] body, HttpStatusCode status, string code, string[] errorKeys)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using HttpResponseMessage response = await host.Http.PostAsync("/api/batches", content);
        JsonElement problem = await Problems.AssertAsync(response, status, code);
        if (errorKeys.Length > 0)
        {
            Assert.Equal(errorKeys, Problems.ErrorKeys(problem));
        }

        await AssertNoBatchAsync(batchId);
    }

    [Fact]
    public async Task A_50_MB_streamed_body_is_refused_without_being_read_to_the_end()
    {
        // A raw socket, because HttpClient finishes sending a body before it hands over an early answer.
        const long total = 50L * 1024 * 1024;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.BaseAddress.Host, host.BaseAddress.Port);
        System.Net.Sockets.NetworkStream net = tcp.GetStream();
        await net.WriteAsync(Utf8($"POST /api/batches HTTP/1.1\r\nHost: {host.BaseAddress.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        byte[] chunk = [.. Utf8("10000\r\n"), .. Enumerable.Repeat((byte)'x', 0x10000), .. Utf8("\r\n")];
        byte[] head = Utf8("""{"batchId":"bad-stream","jobs":[{"type":"echo","payload":" """);
        byte[] first = [.. Utf8($"{head.Length:x}\r\n"), .. head, .. Utf8("\r\n")];
        await net.WriteAsync(first);
        long sent = 0;
        try
        {
            while (sent < total && tcp.Available == 0)
            {
                await net.WriteAsync(chunk);
                sent += 0x10000;
            }
        }
        catch (IOException)
        {
            // The server closed the connection on us: it is not reading any further.
        }

        var answer = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await net.ReadAsync(buffer)) > 0)
            {
                answer.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // Reset after the answer arrived.
        }

        string response = Encoding.UTF8.GetString(answer.ToArray());
        Assert.StartsWith("HTTP/1.1 413", response, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", response, StringComparison.Ordinal);
        Assert.Contains("body-too-large", response, StringComparison.Ordinal);
        Assert.True(sent < total / 2, $"The client sent {sent} of {total} bytes before the answer");
        await AssertNoBatchAsync("bad-stream");
    }

    [Fact]
    public async Task A_declared_length_over_the_limit_is_refused_before_reading()
    {
        var content = new ByteArrayContent(new byte[HttpApiHostFixture.BodyLimit + 1]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await Problems.AssertAsync(await host.Http.PostAsync("/api/batches", content), HttpStatusCode.RequestEntityTooLarge, "body-too-large");
    }

    [Theory]
    [InlineData("/api/batches?top=0", "top")]
    [InlineData("/api/batches?top=100000", "top")]
    [InlineData("/api/batches?top=ten", "top")]
    [InlineData("/api/batches?status=Bogus", "status")]
    [InlineData("/api/batches?status=2", "status")]
    [InlineData("/api/batches/http-any/jobs?status=Done", "status")]
    [InlineData("/api/batches/http-any/jobs?top=-1", "top")]
    [InlineData("/api/batches/http-any/jobs?continuationToken=abc", "continuationToken")]
    public async Task Invalid_query_parameters_are_400_problems_naming_the_parameter(string url, string parameter)
    {
        JsonElement problem = await Problems.AssertAsync(await host.Http.GetAsync(url), HttpStatusCode.BadRequest, "invalid-query");
        Assert.Equal([parameter], Problems.ErrorKeys(problem));
    }

    [Fact]
    public async Task Health_reports_storage_reachable()
    {
        using HttpResponseMessage response = await host.Http.GetAsync("/api/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", (await ReadJsonAsync(response)).GetProperty("status").GetString());
    }

    private async Task AssertNoBatchAsync(string batchId)
    {
        Assert.Null(await host.Batches.GetAsync(batchId));
        JsonElement all = await GetJsonAsync("/api/batches?top=1000");
        Assert.DoesNotContain(all.GetProperty("items").EnumerateArray(), b => b.GetProperty("id").GetString()!.StartsWith("bad-", StringComparison.Ordinal));
    }

    private async Task<JsonElement> WaitForStatusAsync(Uri status, string expected) =>
        await Eventually.MatchAsync(
            () => GetJsonAsync(status.ToString()),
            view => view.GetProperty("status").GetString() == expected,
            BatchTimeout,
            TimeSpan.FromMilliseconds(250),
            $"batch at {status} reaching {expected}");

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string json, string contentType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await host.Http.PostAsync(path, content);
    }

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        using HttpResponseMessage response = await host.Http.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await ReadJsonAsync(response);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
