using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

public sealed class BatchControlApiHostFixture : HostFixture
{
    protected override string HubName => "ApiControlTests";
}

/// <summary>The routes of the batch controls: pause, resume, re-run, and the failure budget of a submission.</summary>
[Collection(StorageCollection.Name)]
public sealed class BatchControlApiTests(EmulatorFixture storage, BatchControlApiHostFixture fixture) : IClassFixture<BatchControlApiHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan BatchTimeout = TimeSpan.FromSeconds(60);
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Pause_and_resume_are_202_while_running_the_view_says_Paused_409_once_finished_404_when_unknown()
    {
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", """{"batchId":"ctl-pause","maxParallel":1,"jobs":[{"type":"delay","payload":{"ms":300}},{"type":"delay","payload":{"ms":300}},{"type":"delay","payload":{"ms":300}}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Uri status = submitted.Headers.Location!;

        using HttpResponseMessage paused = await PostJsonAsync("/api/batches/ctl-pause/pause", """{"drain":true,"reason":"test"}""");
        Assert.Equal(HttpStatusCode.Accepted, paused.StatusCode);
        Assert.Equal(status, paused.Headers.Location);
        JsonElement view = await WaitForAsync(status, v => v.GetProperty("status").GetString() == "Paused" && v.GetProperty("running").GetInt32() == 0, "Paused and drained");
        Assert.True(view.GetProperty("pending").GetInt32() > 0, view.GetRawText());

        using HttpResponseMessage resumed = await PostJsonAsync("/api/batches/ctl-pause/resume", "");
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);
        view = await WaitForAsync(status, v => v.GetProperty("status").GetString() == "Completed", "Completed");
        Assert.Equal(3, view.GetProperty("succeeded").GetInt32());

        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-pause/pause", "{}"), HttpStatusCode.Conflict, "batch-already-finished");
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-pause/resume", "{}"), HttpStatusCode.Conflict, "batch-already-finished");
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/no-such-batch/pause", "{}"), HttpStatusCode.NotFound, "batch-not-found");
    }

    [Fact]
    public async Task Patch_of_maxParallel_is_202_and_shows_in_the_view_400_without_a_valid_cap_409_once_finished_404_when_unknown()
    {
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", """{"batchId":"ctl-cap","maxParallel":1,"jobs":[{"type":"delay","payload":{"ms":400}},{"type":"delay","payload":{"ms":400}},{"type":"delay","payload":{"ms":400}},{"type":"delay","payload":{"ms":400}}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);

        using HttpResponseMessage changed = await SendJsonAsync(HttpMethod.Patch, "/api/batches/ctl-cap", """{"maxParallel":3}""");
        Assert.Equal(HttpStatusCode.Accepted, changed.StatusCode);
        JsonElement view = await WaitForAsync(submitted.Headers.Location!, v => v.GetProperty("status").GetString() == "Completed", "Completed");
        Assert.Equal(3, view.GetProperty("maxParallel").GetInt32());

        JsonElement problem = await Problems.AssertAsync(await SendJsonAsync(HttpMethod.Patch, "/api/batches/ctl-cap", "{}"), HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["maxParallel"], Problems.ErrorKeys(problem));
        await Problems.AssertAsync(await SendJsonAsync(HttpMethod.Patch, "/api/batches/ctl-cap", """{"maxParallel":1001}"""), HttpStatusCode.BadRequest, "validation-failed");
        await Problems.AssertAsync(await SendJsonAsync(HttpMethod.Patch, "/api/batches/ctl-cap", """{"maxParallel":2}"""), HttpStatusCode.Conflict, "batch-already-finished");
        await Problems.AssertAsync(await SendJsonAsync(HttpMethod.Patch, "/api/batches/no-such-batch", """{"maxParallel":2}"""), HttpStatusCode.NotFound, "batch-not-found");
    }

    [Theory]
    [InlineData("/api/batches/ctl-any/pause", "{\"drain\":false}", HttpStatusCode.BadRequest, "validation-failed", "drain")]
    [InlineData("/api/batches/ctl-any/pause", "{\"drain\":\"no\"}", HttpStatusCode.BadRequest, "wrong-json-type", "drain")]
    [InlineData("/api/batches/ctl-any/resume", "{\"reason\":7}", HttpStatusCode.BadRequest, "wrong-json-type", "reason")]
    [InlineData("/api/batches/ctl-any/rerun", "{\"statuses\":[\"Broken\"]}", HttpStatusCode.BadRequest, "wrong-json-type", null)]
    [InlineData("/api/batches/ctl-any/rerun", "{\"statuses\":[]}", HttpStatusCode.BadRequest, "validation-failed", "statuses")]
    [InlineData("/api/batches/ctl-any/rerun", "{\"maxParallel\":0}", HttpStatusCode.BadRequest, "validation-failed", "maxParallel")]
    public async Task A_control_body_that_breaks_a_rule_is_a_400_naming_the_field(string path, string body, HttpStatusCode status, string code, string? field)
    {
        JsonElement problem = await Problems.AssertAsync(await PostJsonAsync(path, body), status, code);
        if (field is not null)
        {
            Assert.Equal([field], Problems.ErrorKeys(problem));
        }
    }

    [Fact]
    public async Task Controls_accept_only_json()
    {
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-any/pause", "{}", "text/plain"), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-any/rerun", "{}", "application/x-www-form-urlencoded"), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    [Fact]
    public async Task Rerun_is_409_while_running_202_with_the_new_batch_once_finished_and_the_original_lists_it()
    {
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", """{"batchId":"ctl-rerun","maxParallel":2,"jobs":[{"id":"slow","type":"delay","payload":{"ms":1500}},{"id":"bad","type":"fail","payload":{"message":"nope"}},{"id":"ok","type":"echo"}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-rerun/rerun", "{}"), HttpStatusCode.Conflict, "batch-not-finished");
        await WaitForAsync(submitted.Headers.Location!, v => v.GetProperty("status").GetString() == "Completed", "Completed");

        using HttpResponseMessage rerun = await PostJsonAsync("/api/batches/ctl-rerun/rerun", """{"maxParallel":1}""");
        Assert.Equal(HttpStatusCode.Accepted, rerun.StatusCode);
        Assert.Equal("ctl-rerun.r1", (await ReadJsonAsync(rerun)).GetProperty("id").GetString());
        JsonElement view = await WaitForAsync(rerun.Headers.Location!, v => v.GetProperty("status").GetString() == "Completed", "re-run Completed");
        Assert.Equal((1, 1, 1), (view.GetProperty("total").GetInt32(), view.GetProperty("failed").GetInt32(), view.GetProperty("maxParallel").GetInt32()));
        JsonElement jobs = await GetJsonAsync("/api/batches/ctl-rerun.r1/jobs");
        Assert.Equal("bad", Assert.Single(jobs.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());

        JsonElement latest = await GetJsonAsync("/api/batches/ctl-rerun/jobs?latest=true");
        Assert.Equal("ctl-rerun.r1", latest.GetProperty("latestFrom").GetProperty("bad").GetString());
        Assert.Equal(3, latest.GetProperty("items").GetArrayLength());
        Assert.False((await GetJsonAsync("/api/batches/ctl-rerun/jobs")).TryGetProperty("latestFrom", out _));
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/ctl-rerun/jobs?latest=yes"), HttpStatusCode.BadRequest, "invalid-query");

        JsonElement original = await GetJsonAsync("/api/batches/ctl-rerun");
        Assert.Equal(["ctl-rerun.r1"], original.GetProperty("reruns").EnumerateArray().Select(r => r.GetString()!));
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/ctl-rerun/rerun", """{"statuses":["Cancelled"]}"""), HttpStatusCode.Conflict, "nothing-to-rerun");
        await Problems.AssertAsync(await PostJsonAsync("/api/batches/no-such-batch/rerun", "{}"), HttpStatusCode.NotFound, "batch-not-found");
    }

    [Fact]
    public async Task A_failure_budget_that_breaks_a_rule_is_a_400_naming_the_field_and_a_spent_one_ends_Aborted_with_the_reason()
    {
        JsonElement problem = await Problems.AssertAsync(
            await PostJsonAsync("/api/batches", """{"batchId":"ctl-bad-budget","abortWhen":{"minJobs":5,"failureRate":1.5},"jobs":[{"type":"echo"}]}"""),
            HttpStatusCode.BadRequest, "validation-failed");
        Assert.Equal(["abortWhen.failureRate"], Problems.ErrorKeys(problem));

        // Three failures, then 2,000 instant jobs at cap 1. The budget is spent by the lane's second chunk (3 of its first 4
        // jobs failed); the chunk granted when the first one finished holds at most MaxJobsPerChunk (1,000) of the rest, and
        // whatever was never granted ends Cancelled. (With instant jobs a granted chunk runs whole before the cancel signal
        // reaches it, so a batch of only a few jobs, all granted by then, would have nothing left to cancel.)
        string jobs = string.Join(",", Enumerable.Repeat("""{"type":"fail"}""", 3).Concat(Enumerable.Repeat("""{"type":"echo"}""", 2_000)));
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", $$"""{"batchId":"ctl-budget","maxParallel":1,"abortWhen":{"minJobs":2,"failureRate":0.1},"jobs":[{{jobs}}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        JsonElement view = await WaitForAsync(submitted.Headers.Location!, v => v.GetProperty("status").GetString() == "Aborted", "Aborted");
        Assert.StartsWith("Failure budget spent", view.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, view.GetProperty("failed").GetInt32());
        Assert.True(view.GetProperty("cancelled").GetInt32() >= 999, view.GetRawText());
    }

    [Fact]
    public async Task Delete_is_409_while_running_204_once_finished_then_the_batch_is_404_and_unlisted()
    {
        using HttpResponseMessage submitted = await PostJsonAsync(
            "/api/batches", """{"batchId":"ctl-delete","maxParallel":1,"jobs":[{"id":"slow","type":"delay","payload":{"ms":3000}},{"id":"ok","type":"echo"}]}""");
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        await Problems.AssertAsync(await host.Http.DeleteAsync("/api/batches/ctl-delete"), HttpStatusCode.Conflict, "batch-not-finished");
        await WaitForAsync(submitted.Headers.Location!, v => v.GetProperty("status").GetString() == "Completed", "Completed");

        using HttpResponseMessage deleted = await host.Http.DeleteAsync("/api/batches/ctl-delete");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/ctl-delete"), HttpStatusCode.NotFound, "batch-not-found");
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches/ctl-delete/jobs"), HttpStatusCode.NotFound, "batch-not-found");
        Assert.DoesNotContain("ctl-delete", (await GetJsonAsync("/api/batches?top=100")).GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        await Problems.AssertAsync(await host.Http.DeleteAsync("/api/batches/ctl-delete"), HttpStatusCode.NotFound, "batch-not-found");
    }

    private async Task<JsonElement> WaitForAsync(Uri status, Func<JsonElement, bool> done, string what) =>
        await Eventually.MatchAsync(() => GetJsonAsync(status.ToString()), done, BatchTimeout, TimeSpan.FromMilliseconds(100), $"batch at {status}: {what}");

    private Task<HttpResponseMessage> PostJsonAsync(string path, string json, string contentType = "application/json") =>
        SendJsonAsync(HttpMethod.Post, path, json, contentType);

    private async Task<HttpResponseMessage> SendJsonAsync(HttpMethod method, string path, string json, string contentType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await host.Http.SendAsync(new HttpRequestMessage(method, path) { Content = content });
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
}
