using System.Text.Json;
using DurableJobs.Api.Http;
using DurableJobs.Api.Responses;
using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Api.Tests;

public sealed class LimitTimelineRecorderTests : IAsyncDisposable
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly CountingStore store;
    private readonly LimitTimelineRecorder recorder;

    public LimitTimelineRecorderTests()
    {
        store = new CountingStore(time);
        var limits = new LimitHttpApi(new ApiOptions(), store, new LimitCatalog(), time, NullLogger<LimitHttpApi>.Instance);
        recorder = new LimitTimelineRecorder(limits, time, NullLogger<LimitTimelineRecorder>.Instance);
    }

    [Fact]
    public async Task The_first_request_answers_with_a_sample_taken_for_it_and_an_unknown_limit_is_404()
    {
        store.InUse = 3;

        (int status, JsonElement body) = await GetAsync("pay");
        (int missing, JsonElement problem) = await GetAsync("nope");

        Assert.Equal(StatusCodes.Status200OK, status);
        JsonElement point = Assert.Single(body.GetProperty("points").EnumerateArray());
        Assert.Equal((0, 3, 7, 7), (point.GetProperty("seconds").GetInt32(), point.GetProperty("inUse").GetInt32(), point.GetProperty("effective").GetInt32(), point.GetProperty("maxConcurrent").GetInt32()));
        Assert.Equal(0, point.GetProperty("waitingBatches").GetInt32());
        Assert.Equal(StatusCodes.Status404NotFound, missing);
        Assert.Equal("limit-not-found", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_limit_keeps_its_last_600_samples_one_second_apart()
    {
        for (int i = 0; i < 650; i++)
        {
            store.InUse = i % 8;
            await recorder.SampleAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        LimitTimeline timeline = recorder.Read("pay")!;

        Assert.Equal(LimitTimelineRecorder.Capacity, timeline.Points.Count);
        Assert.Equal(time.GetUtcNow().AddSeconds(-600), timeline.From);
        Assert.Equal(Enumerable.Range(0, 600).Select(s => (double)s), timeline.Points.Select(p => p.Seconds));
        Assert.Equal(Enumerable.Range(50, 600).Select(i => i % 8), timeline.Points.Select(p => p.InUse));
    }

    [Fact]
    public async Task Sampling_stops_about_two_minutes_after_the_last_request_and_a_new_request_starts_it_again()
    {
        await GetAsync("pay");
        DateTimeOffset asked = time.GetUtcNow();
        Assert.True(recorder.IsSampling);

        // Step the fake clock until the loop has sampled again (it may not have armed its timer yet), or stopped.
        int samples = 0;
        while (recorder.IsSampling && time.GetUtcNow() - asked < TimeSpan.FromMinutes(5))
        {
            int before = store.Lists;
            time.Advance(TimeSpan.FromSeconds(1));
            for (int wait = 0; wait < 500 && store.Lists == before && recorder.IsSampling; wait++)
            {
                await Task.Delay(10);
            }

            samples = store.Lists;
        }

        TimeSpan sampledFor = time.GetUtcNow() - asked;
        Assert.False(recorder.IsSampling);
        Assert.InRange(sampledFor, LimitTimelineRecorder.IdleAfter, LimitTimelineRecorder.IdleAfter + TimeSpan.FromSeconds(5));
        Assert.InRange(samples, 60, 125);

        int stoppedAt = store.Lists;
        time.Advance(TimeSpan.FromSeconds(30));
        await Task.Delay(100);
        Assert.Equal(stoppedAt, store.Lists);

        await GetAsync("pay");
        Assert.True(recorder.IsSampling);
        Assert.Equal(stoppedAt + 1, store.Lists);
    }

    public async ValueTask DisposeAsync() => await recorder.DisposeAsync();

    private async Task<(int Status, JsonElement Body)> GetAsync(string name)
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        context.RequestServices = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        IResult result = await recorder.GetAsync(name, CancellationToken.None);
        await result.ExecuteAsync(context);
        return (context.Response.StatusCode, JsonDocument.Parse(body.ToArray()).RootElement.Clone());
    }

    /// <summary>One limit, "pay" (max 7), with one lease of <see cref="InUse"/> permits; counts the list queries.</summary>
    private sealed class CountingStore(TimeProvider time) : ILimitStore
    {
        private int lists;

        public int InUse { get; set; }

        public int Lists => Volatile.Read(ref lists);

        public Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref lists);
            IReadOnlyList<LimitRow> rows = [new LimitRow
            {
                Name = "pay",
                Settings = new LimitSettings { MaxConcurrent = 7 },
                Leases = new Dictionary<string, LimitLease> { ["w1"] = new LimitLease(InUse, 0, time.GetUtcNow().AddSeconds(10)) },
            }];
            return Task.FromResult(rows);
        }

        public Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
