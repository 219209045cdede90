using System.Net;
using System.Text;
using System.Text.Json;
using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

public sealed class TimelineApiHostFixture : HostFixture
{
    protected override string HubName => "ApiTimelineTests";
}

[Collection(StorageCollection.Name)]
public sealed class TimelineApiTests(EmulatorFixture storage, TimelineApiHostFixture fixture) : IClassFixture<TimelineApiHostFixture>, IAsyncLifetime
{
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_timeline_of_a_finished_batch_stays_under_its_cap_and_reaches_it()
    {
        string jobs = string.Join(",", Enumerable.Range(0, 12).Select(i => $$$"""{"id":"j{{{i}}}","type":"delay","payload":{"ms":300}}"""));
        using var content = new StringContent($$"""{"batchId":"timeline-run","maxParallel":3,"jobs":[{{jobs}}]}""", Encoding.UTF8, "application/json");
        using HttpResponseMessage submitted = await host.Http.PostAsync("/api/batches", content);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        await Eventually.MatchAsync(
            async () => (await GetJsonAsync("/api/batches/timeline-run")).GetProperty("status").GetString(),
            status => status == "Completed", TimeSpan.FromSeconds(60), what: "batch completion");

        JsonElement timeline = await GetJsonAsync("/api/batches/timeline-run/timeline");
        Assert.Equal("timeline-run", timeline.GetProperty("id").GetString());
        Assert.Equal("Completed", timeline.GetProperty("status").GetString());
        Assert.Equal(3, timeline.GetProperty("maxParallel").GetInt32());
        Assert.Equal(12, timeline.GetProperty("jobsCounted").GetInt32());
        Assert.Equal(3, timeline.GetProperty("maxInFlight").GetInt32());
        Assert.True(timeline.GetProperty("from").GetDateTimeOffset() < timeline.GetProperty("to").GetDateTimeOffset());
        int[] counts = timeline.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("inFlight").GetInt32()).ToArray();
        Assert.All(counts, c => Assert.InRange(c, 0, 3));
        Assert.Equal(0, counts[^1]);

        // Downsampled hard, the peak survives.
        JsonElement coarse = await GetJsonAsync("/api/batches/timeline-run/timeline?points=3");
        JsonElement[] few = coarse.GetProperty("points").EnumerateArray().ToArray();
        Assert.InRange(few.Length, 2, 3);
        Assert.Equal(3, few.Max(p => p.GetProperty("inFlight").GetInt32()));
    }

    [Theory]
    [InlineData("points=1")]
    [InlineData("points=2001")]
    [InlineData("points=ten")]
    public async Task Invalid_points_are_a_problem_naming_the_parameter(string query)
    {
        using HttpResponseMessage response = await host.Http.GetAsync($"/api/batches/any/timeline?{query}");
        JsonElement problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "invalid-query");
        Assert.Equal(["points"], Problems.ErrorKeys(problem));
    }

    [Fact]
    public async Task An_unknown_batch_is_404()
    {
        using HttpResponseMessage response = await host.Http.GetAsync("/api/batches/no-such-batch/timeline");
        await Problems.AssertAsync(response, HttpStatusCode.NotFound, "batch-not-found");
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await host.Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
