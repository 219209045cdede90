using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ConcurrentSubmissionTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Fifty_concurrent_posts_of_one_new_batch_id_with_two_bodies_start_one_batch_and_only_its_post_says_new()
    {
        const int clients = 50, jobsA = 20, jobsB = 7;
        const string batchId = "same-id";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsSameId", output);
        try
        {
            HostProcess one = await cluster.StartWorkerAsync();
            HostProcess two = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);

            // Two different bodies under one id: whichever submission wins decides what runs; the rest start nothing.
            string bodyA = BatchApi.Batch(batchId, 5, jobsA, "echo", """{"n":1}""");
            string bodyB = BatchApi.Batch(batchId, 3, jobsB, "delay", """{"ms":10}""");
            using var start = new ManualResetEventSlim();
            Task<(HttpStatusCode Status, JsonElement Body)>[] posts = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await client.PostAsync(i % 2 == 0 ? bodyA : bodyB);
            })).ToArray();
            start.Set();
            (HttpStatusCode Status, JsonElement Body)[] answers = await Task.WhenAll(posts);

            Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.Accepted, $"{(int)a.Status} {a.Body}"));
            int[] created = Enumerable.Range(0, clients).Where(i => !answers[i].Body.GetProperty("existing").GetBoolean()).ToArray();
            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(2));
            Assert.Single(await client.ListIdsAsync(), id => id == batchId);

            // Exactly one orchestration ran: each job started once across both workers.
            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [one, two]);
            List<string> jobKeys = await JobKeysAsync(cluster.HubName, batchId);
            Figures.Report(output, "same-id", $"{clients} concurrent POSTs of one new batchId, two bodies ({jobsA} and {jobsB} jobs): {answers.Count(a => a.Status == HttpStatusCode.Accepted)} answered 202, {created.Length} said existing=false; the batch ran {view.GetProperty("total").GetInt32()} jobs (started {starts.Values.Sum(s => s.Count)} times); job sets stored under the id: {jobKeys.Count}");

            Assert.Single(created);
            int expected = created[0] % 2 == 0 ? jobsA : jobsB;
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(expected, view.GetProperty("total").GetInt32());
            Assert.Equal(expected, view.GetProperty("succeeded").GetInt32());
            Assert.Equal(expected, starts.Count);
            Assert.All(starts.Values, s => Assert.Single(s));

            // Nothing left behind: the losing submissions stored no jobs.
            Assert.Single(jobKeys);
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    [Fact]
    public async Task Two_hundred_concurrent_small_batches_all_complete_and_excess_batches_wait()
    {
        const int batches = 200, jobs = 3, maxConcurrentBatches = 4;
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsMany", output);
        try
        {
            // A low per-worker batch limit, so the flood also shows that excess batches wait rather than fail.
            var limited = new Dictionary<string, string> { ["DurableJobs__MaxConcurrentBatches"] = maxConcurrentBatches.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            HostProcess one = await cluster.StartWorkerAsync(limited);
            HostProcess two = await cluster.StartWorkerAsync(limited);
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            string[] ids = Enumerable.Range(0, batches).Select(i => $"many-{i:D3}").ToArray();

            var clock = Stopwatch.StartNew();
            (HttpStatusCode Status, JsonElement Body)[] answers = await Task.WhenAll(ids.Select(id => client.PostAsync(BatchApi.Batch(id, jobs, jobs, "delay", """{"ms":50}"""))));
            TimeSpan submitted = clock.Elapsed;
            Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
            Assert.All(answers, a => Assert.False(a.Body.GetProperty("existing").GetBoolean()));

            using var http = new HttpClient { BaseAddress = api.BaseAddress };
            await Waits.UntilAsync(
                async () => (await CompletedAsync(http)).Count(id => id.StartsWith("many-", StringComparison.Ordinal)) == batches,
                TimeSpan.FromMinutes(5),
                "all batches completed",
                TimeSpan.FromSeconds(1));
            TimeSpan done = clock.Elapsed;

            int lost = 0, short_ = 0;
            foreach (string id in ids)
            {
                JsonElement? view = await client.GetBatchAsync(id);
                if (view is null)
                {
                    lost++;
                }
                else if (view.Value.GetProperty("succeeded").GetInt32() != jobs)
                {
                    short_++;
                }
            }

            int waited = one.LinesContaining("waits its turn").Count() + two.LinesContaining("waits its turn").Count();
            Figures.Report(output, "many-batches", $"{batches} distinct batches of {jobs} jobs POSTed at once: accepted in {submitted.TotalSeconds:0.0} s, all completed {done.TotalSeconds:0.0} s after the first POST; lost {lost}, incomplete {short_}; with MaxConcurrentBatches={maxConcurrentBatches} per worker, {waited} chunks waited their turn and none failed");
            Assert.Equal(0, lost);
            Assert.Equal(0, short_);
            Assert.True(waited > 0, "the flood should have made some chunks wait for a batch slot");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    /// <summary>The distinct job sets stored under <paramref name="batchId"/> (blobs are named batch/jobsKey/segment).</summary>
    private async Task<List<string>> JobKeysAsync(string hubName, string batchId)
    {
        var container = new BlobContainerClient(storage.ConnectionString, hubName.ToLowerInvariant() + "-batches");
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, batchId + "/", CancellationToken.None))
        {
            string[] segments = blob.Name.Split('/');
            // Segments are jobs-NNNNNN.json (1,000-job segments) or segment-NNNNNN.json beside a layout.json (sized by bytes).
            if (segments.Length == 3 && (segments[2].StartsWith("jobs-", StringComparison.Ordinal) || segments[2].StartsWith("segment-", StringComparison.Ordinal)))
            {
                keys.Add(segments[1]);
            }
        }

        return [.. keys];
    }

    private static async Task<List<string>> CompletedAsync(HttpClient http)
    {
        using HttpResponseMessage response = await http.GetAsync("/api/batches?status=Completed&top=1000");
        response.EnsureSuccessStatusCode();
        JsonElement list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return list.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();
    }
}
