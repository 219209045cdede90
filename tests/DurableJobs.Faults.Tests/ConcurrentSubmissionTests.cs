using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ConcurrentSubmissionTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task A_hundred_concurrent_posts_of_one_batch_id_run_one_batch()
    {
        const int jobs = 20;
        const string batchId = "same-id";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsSameId", output);
        try
        {
            HostProcess one = await cluster.StartWorkerAsync();
            HostProcess two = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            string body = BatchApi.Batch(batchId, 5, jobs, "echo", """{"n":1}""");

            using var start = new ManualResetEventSlim();
            (HttpStatusCode Status, JsonElement Body)[] answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            {
                start.Wait();
                return await client.PostAsync(body);
            })).Append(Task.Run(() =>
            {
                start.Set();
                return (HttpStatusCode.Continue, default(JsonElement));
            })));
            answers = answers.Where(a => a.Status != HttpStatusCode.Continue).ToArray();

            Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
            int created = answers.Count(a => !a.Body.GetProperty("existing").GetBoolean());
            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(2));
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("total").GetInt32());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());
            Assert.Single(await client.ListIdsAsync(), id => id == batchId);

            // Exactly one orchestration ran: each job started once across both workers.
            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [one, two]);
            Figures.Report(output, "same-id", $"100 concurrent POSTs of one batchId: {answers.Length} answered 202; one batch ran (jobs started {starts.Values.Sum(s => s.Count)} times for {jobs} jobs); {created} answers said existing=false");

            // Not asserted: 'existing' is decided by a read before the start, so racing submissions can all see
            // "new"; the engine still starts the instance once, which is what is asserted.
            Assert.Equal(jobs, starts.Count);
            Assert.All(starts.Values, s => Assert.Single(s));
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

    private static async Task<List<string>> CompletedAsync(HttpClient http)
    {
        using HttpResponseMessage response = await http.GetAsync("/api/batches?status=Completed&top=1000");
        response.EnsureSuccessStatusCode();
        JsonElement list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return list.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();
    }
}
