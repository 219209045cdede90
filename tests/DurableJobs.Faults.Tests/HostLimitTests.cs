using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class HostLimitTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task A_worker_runs_at_most_MaxConcurrentBatches_batches_at_once_and_the_rest_wait()
    {
        const int batches = 6, jobs = 8, limit = 2;
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsBatchLimit", output);
        try
        {
            HostProcess worker = await cluster.StartWorkerAsync(new Dictionary<string, string> { ["DurableJobs__MaxConcurrentBatches"] = "2" });
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            string[] ids = Enumerable.Range(0, batches).Select(i => $"limit-{i}").ToArray();
            await Task.WhenAll(ids.Select(id => client.SubmitAsync(BatchApi.Batch(id, jobs, jobs, "delay", """{"ms":400}"""))));

            var all = new List<(string Batch, JobRecord Job)>();
            foreach (string id in ids)
            {
                JsonElement view = await client.WaitFinishedAsync(id, TimeSpan.FromMinutes(3));
                Assert.Equal("Completed", view.GetProperty("status").GetString());
                Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());
                all.AddRange((await client.GetJobsAsync(id)).Select(j => (id, j)));
            }

            int most = MostBatchesRunningAtOnce(all);
            int waited = worker.LinesContaining("waits its turn").Count();
            Figures.Report(output, "batch-limit", $"{batches} batches submitted at once to one worker with MaxConcurrentBatches={limit}: at most {most} batches had jobs running at the same instant; {waited} chunks waited; all {batches} completed, every job succeeded");
            Assert.Equal(batches * jobs, all.Count);
            Assert.True(most <= limit, $"{most} batches ran at once; the limit is {limit}");
            Assert.True(waited > 0, "some chunks should have waited for a batch slot");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    [Fact]
    public async Task Two_hundred_jobs_with_60_KB_payloads_travel_and_come_back_intact()
    {
        const int jobs = 200, payloadChars = 60 * 1024;
        const string batchId = "big-payloads";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsBigPayloads", output);
        try
        {
            await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);

            // Each payload just under the 64 KB limit: 12 MB in one request, far beyond what a queue message or a
            // Durable Task history row can hold, so this only works because jobs travel in blob segments.
            var body = new StringBuilder($$"""{"batchId":"{{batchId}}","maxParallel":10,"jobs":[""");
            for (int i = 0; i < jobs; i++)
            {
                body.Append(i == 0 ? string.Empty : ",").Append($$$"""{"id":"p{{{i:D3}}}","type":"echo","payload":{"i":{{{i}}},"data":"{{{Filler(i, payloadChars)}}}"}}""");
            }

            body.Append("]}");
            await client.SubmitAsync(body.ToString());
            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(3));
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync(batchId);
            Assert.Equal(jobs, results.Count);
            foreach (JobRecord result in results)
            {
                int i = int.Parse(result.Id[1..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.NotNull(result.Output);
                Assert.Equal(i, result.Output.Value.GetProperty("i").GetInt32());
                Assert.Equal(Filler(i, payloadChars), result.Output.Value.GetProperty("data").GetString());
            }

            Figures.Report(output, "big-payloads", $"{jobs} jobs x {payloadChars / 1024} KB payloads ({body.Length / (1024.0 * 1024):0.0} MB request) ran and every echoed output came back byte for byte");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    /// <summary>The most distinct batches with a job running at one instant (a job ending as another starts does not overlap it).</summary>
    private static int MostBatchesRunningAtOnce(List<(string Batch, JobRecord Job)> jobs)
    {
        var events = jobs.SelectMany(j => new[] { (At: j.Job.StartedAt!.Value, Delta: +1, j.Batch), (At: j.Job.FinishedAt!.Value, Delta: -1, j.Batch) })
            .OrderBy(e => e.At).ThenBy(e => e.Delta).ToList();
        var running = new Dictionary<string, int>(StringComparer.Ordinal);
        int most = 0;
        foreach ((_, int delta, string batch) in events)
        {
            running[batch] = running.GetValueOrDefault(batch) + delta;
            most = Math.Max(most, running.Count(r => r.Value > 0));
        }

        return most;
    }

    /// <summary>A payload string of <paramref name="length"/> characters that differs per job.</summary>
    private static string Filler(int seed, int length)
    {
        string hex = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(seed)));
        return string.Concat(Enumerable.Repeat(hex, (length / hex.Length) + 1))[..length];
    }
}
