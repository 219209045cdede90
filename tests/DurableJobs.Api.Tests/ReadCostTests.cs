using System.Net;
using System.Text;
using System.Text.Json;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Xunit.Abstractions;

namespace DurableJobs.Api.Tests;

public sealed class ReadCostHostFixture : HostFixture
{
    public const string Hub = "ApiReadCost";

    protected override string HubName => Hub;
}

/// <summary>What the cheap requests (the list the dashboard polls every 2 s, a timeline, a page of jobs) cost in storage requests.</summary>
[Collection(StorageCollection.Name)]
public sealed class ReadCostTests(EmulatorFixture storage, ReadCostHostFixture fixture, ITestOutputHelper output) : IClassFixture<ReadCostHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_timeline_downloads_none_of_30_large_outputs_and_a_finished_batch_is_read_from_storage_once()
    {
        // Outputs of 2,000 characters are kept in blobs, one per job.
        string payload = JsonSerializer.Serialize(new string('o', 2_000));
        string jobs = string.Join(",", Enumerable.Range(0, 30).Select(i => $$"""{"type":"echo","payload":{{payload}}}"""));
        await SubmitAsync($$"""{"batchId":"cost-timeline","maxParallel":5,"jobs":[{{jobs}}]}""");
        await WaitForAsync("cost-timeline", "Completed");

        using var traffic = new StorageTraffic();
        JsonElement first = await GetJsonAsync("/api/batches/cost-timeline/timeline");
        StorageRequest[] firstOutputs = traffic.To("/outputs/");
        StorageRequest[] firstResults = traffic.To(ReadCostHostFixture.Hub + "Results");
        traffic.Clear();
        JsonElement second = await GetJsonAsync("/api/batches/cost-timeline/timeline");
        StorageRequest[] secondAll = traffic.OfHubExceptDurableTask(ReadCostHostFixture.Hub);

        output.WriteLine($"first timeline: {firstOutputs.Length} output downloads, {firstResults.Length} results-table requests; second: {secondAll.Length} storage requests of the hub ({string.Join("; ", secondAll.Select(r => r.ToString()))})");
        Assert.Equal(30, first.GetProperty("jobsCounted").GetInt32());
        Assert.Empty(firstOutputs);
        Assert.NotEmpty(firstResults);
        Assert.Equal(first.GetRawText(), second.GetRawText());
        Assert.Empty(secondAll);
    }

    [Fact]
    public async Task The_list_reads_one_index_page_and_one_instance_per_batch_shown_and_pages_back_by_creation_time()
    {
        string[] ids = Enumerable.Range(0, 12).Select(i => $"cost-list-{i:D2}").ToArray();
        foreach (string id in ids)
        {
            await SubmitAsync($$"""{"batchId":"{{id}}","jobs":[{"type":"echo"}]}""");
        }

        await WaitForAsync(ids[^1], "Completed");

        using var traffic = new StorageTraffic();
        JsonElement page = await GetJsonAsync("/api/batches?top=5");
        StorageRequest[] instances = traffic.To(ReadCostHostFixture.Hub + "Instances");
        StorageRequest[] all = traffic.Requests.ToArray();
        output.WriteLine($"GET /api/batches?top=5: {all.Length} storage requests, {instances.Length} to the Instances table ({instances.Count(r => r.IsTableScan)} whole-table scans): {string.Join("; ", all.Select(r => r.ToString()))}");

        // The 5 newest, newest first, each read by its id: no scan of the hub's instances.
        Assert.Equal(ids.Reverse().Take(5), Ids(page));
        Assert.DoesNotContain(instances, r => r.IsTableScan);
        Assert.InRange(instances.Length, 1, 5);

        // The next page carries on where this one stopped.
        string token = page.GetProperty("continuationToken").GetString()!;
        JsonElement next = await GetJsonAsync($"/api/batches?top=5&continuationToken={Uri.EscapeDataString(token)}");
        Assert.Equal(ids.Reverse().Skip(5).Take(5), Ids(next));

        // A status filter applies to the batches a page covers.
        JsonElement completed = await GetJsonAsync("/api/batches?top=3&status=Completed");
        Assert.Equal(ids.Reverse().Take(3), Ids(completed));
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches?continuationToken=not-a-token"), HttpStatusCode.BadRequest, "invalid-query");
    }

    [Fact]
    public async Task Twenty_racing_submissions_of_one_id_are_listed_once()
    {
        string body = """{"batchId":"cost-race","jobs":[{"type":"echo"}]}""";
        using var start = new ManualResetEventSlim();
        Task[] posts = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            await SubmitAsync(body);
        })).ToArray();
        start.Set();
        await Task.WhenAll(posts);
        await WaitForAsync("cost-race", "Completed");

        JsonElement all = await GetJsonAsync("/api/batches?top=1000");
        Assert.Single(Ids(all), id => id == "cost-race");
    }

    private static IEnumerable<string> Ids(JsonElement page) => page.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()!);

    private async Task SubmitAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await host.Http.PostAsync("/api/batches", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private Task WaitForAsync(string id, string status) =>
        Eventually.MatchAsync(
            async () => (await GetJsonAsync($"/api/batches/{id}")).GetProperty("status").GetString(),
            s => s == status, Timeout, TimeSpan.FromMilliseconds(250), $"{id} {status}");

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await host.Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
