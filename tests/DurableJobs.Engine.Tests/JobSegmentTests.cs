using DurableJobs.Orchestration.Storage;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DurableJobs.Core.Serialization;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration.Model;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>Jobs travel in blob segments bounded in bytes as well as in jobs, so a chunk downloads about what it runs.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class JobSegmentTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    /// <summary>Saves jobs as a submission does: under the key its claim on the batch id hands out.</summary>
    private static async Task<string> SaveAsync(AzureBatchStore store, string batchId, IReadOnlyList<ScheduledJob> jobs)
    {
        BatchClaim claim = (await store.TryClaimAsync(batchId, TimeSpan.FromMinutes(1)))!;
        await store.SaveJobsAsync(batchId, claim.JobsKey, jobs);
        return claim.JobsKey;
    }

    private const long OneMiB = 1024 * 1024;

    [Fact]
    public async Task TwoHundredFiftyJobsOf64KB_ReadingOneJob_DownloadsAtMostOneMiB()
    {
        (AzureBatchStore store, DownloadCounter downloads) = NewStore();
        ScheduledJob[] jobs = Jobs(250, 64_000);
        string key = await SaveAsync(store, "b", jobs);

        IReadOnlyList<ScheduledJob> read = await store.ReadJobsAsync("b", key, 100, 1);

        output.WriteLine($"read job 100 of 250 × 64 KB: {downloads.Bytes} bytes in {downloads.Requests} downloads");
        Assert.Equal(jobs[100], Assert.Single(read), JobComparer.Instance);
        Assert.InRange(downloads.Bytes, 64_000, OneMiB);
    }

    [Fact]
    public async Task TwoHundredFiftyJobsOf64KB_ReadingTheSameJobsAgain_DownloadsNothing()
    {
        (AzureBatchStore store, DownloadCounter downloads) = NewStore();
        string key = await SaveAsync(store, "b", Jobs(250, 64_000));
        await store.ReadJobsAsync("b", key, 100, 5);
        long first = downloads.Bytes;

        await store.ReadJobsAsync("b", key, 100, 5);

        output.WriteLine($"first read {first} bytes, second read {downloads.Bytes - first} bytes");
        Assert.Equal(first, downloads.Bytes);
    }

    [Fact]
    public async Task TwoThousandFiveHundredSmallJobs_TravelInThreeSegments_AndEachIsDownloadedOnce()
    {
        (AzureBatchStore store, DownloadCounter downloads) = NewStore();
        ScheduledJob[] jobs = Jobs(2_500, 20);
        string key = await SaveAsync(store, "b", jobs);

        for (int start = 0; start < 2_500; start += 250)
        {
            Assert.Equal(jobs[start..(start + 250)], await store.ReadJobsAsync("b", key, start, 250), JobComparer.Instance);
        }

        output.WriteLine($"{downloads.SegmentRequests} segment downloads, {downloads.Requests} in all");
        Assert.Equal(3, downloads.SegmentRequests);
    }

    [Fact]
    public async Task JobsOfMixedSizes_EveryRangeReadsBackTheSameJobsInOrder()
    {
        (AzureBatchStore store, _) = NewStore();
        var random = new Random(13);
        ScheduledJob[] jobs = Enumerable.Range(0, 600).Select(i => Job(i, random.Next(4) == 0 ? random.Next(20_000, 64_000) : random.Next(0, 200))).ToArray();
        string key = await SaveAsync(store, "b", jobs);

        var ranges = new List<(int Start, int Count)> { (0, 600), (0, 1), (599, 1), (17, 250), (300, 300) };
        for (int i = 0; i < 20; i++)
        {
            int start = random.Next(600);
            ranges.Add((start, random.Next(1, 600 - start + 1)));
        }

        foreach ((int start, int count) in ranges)
        {
            Assert.Equal(jobs[start..(start + count)], await store.ReadJobsAsync("b", key, start, count), JobComparer.Instance);
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ReadJobsAsync("b", key, 590, 11));
    }

    [Fact]
    public async Task SegmentsOfAnEarlierVersion_OneThousandJobsEachAndNoLayout_StillRead()
    {
        (AzureBatchStore store, _, BlobContainerClient container) = NewStoreWithContainer();
        ScheduledJob[] jobs = Jobs(1_500, 10);
        string key = Guid.NewGuid().ToString("N");
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient($"b/{key}/jobs-000000.json").UploadAsync(BinaryData.FromObjectAsJson(jobs[..1_000], DurableJobsJson.Options));
        await container.GetBlobClient($"b/{key}/jobs-000001.json").UploadAsync(BinaryData.FromObjectAsJson(jobs[1_000..], DurableJobsJson.Options));

        Assert.Equal(jobs[990..1_010], await store.ReadJobsAsync("b", key, 990, 20), JobComparer.Instance);
        Assert.Equal(jobs[1_499..], await store.ReadJobsAsync("b", key, 1_499, 1), JobComparer.Instance);
    }

    private static ScheduledJob[] Jobs(int count, int payloadChars) => Enumerable.Range(0, count).Select(i => Job(i, payloadChars)).ToArray();

    private static ScheduledJob Job(int index, int payloadChars) =>
        new(index, $"j{index}", "echo", JsonSerializer.SerializeToElement(new { data = new string((char)('a' + (index % 26)), payloadChars) }));

    private (AzureBatchStore Store, DownloadCounter Downloads) NewStore()
    {
        (AzureBatchStore store, DownloadCounter downloads, _) = NewStoreWithContainer();
        return (store, downloads);
    }

    private (AzureBatchStore Store, DownloadCounter Downloads, BlobContainerClient Container) NewStoreWithContainer()
    {
        string name = "segs" + Guid.NewGuid().ToString("N")[..12];
        var downloads = new DownloadCounter();
        var options = new BlobClientOptions();
        options.AddPolicy(downloads, HttpPipelinePosition.PerCall);
        var container = new BlobContainerClient(fixture.Emulator.ConnectionString, name, options);
        return (new AzureBatchStore(container, new TableClient(fixture.Emulator.ConnectionString, name)), downloads, container);
    }

    private sealed class JobComparer : IEqualityComparer<ScheduledJob>
    {
        public static readonly JobComparer Instance = new();

        public bool Equals(ScheduledJob? x, ScheduledJob? y) =>
            x is not null && y is not null && (x.Index, x.Id, x.Type) == (y.Index, y.Id, y.Type)
            && JsonElement.DeepEquals(x.Payload!.Value, y.Payload!.Value);

        public int GetHashCode(ScheduledJob obj) => obj.Index;
    }
}

/// <summary>Counts what a blob client downloads: requests and response bytes of every GET.</summary>
internal sealed class DownloadCounter : HttpPipelineSynchronousPolicy
{
    private long bytes;
    private int requests;
    private int segmentRequests;

    public long Bytes => Interlocked.Read(ref bytes);

    public int Requests => Volatile.Read(ref requests);

    /// <summary>Downloads of job segments (blobs named segment-NNNNNN.json, or jobs-NNNNNN.json before layouts).</summary>
    public int SegmentRequests => Volatile.Read(ref segmentRequests);

    public override void OnReceivedResponse(HttpMessage message)
    {
        if (message.Request.Method != RequestMethod.Get || message.Response.IsError)
        {
            return;
        }

        Interlocked.Add(ref bytes, message.Response.Headers.ContentLength ?? 0);
        Interlocked.Increment(ref requests);
        if (message.Request.Uri.Path.Contains("/segment-", StringComparison.Ordinal) || message.Request.Uri.Path.Contains("/jobs-", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref segmentRequests);
        }
    }
}
