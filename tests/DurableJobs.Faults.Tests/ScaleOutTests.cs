using System.Text.Json;
using DurableJobs.Testing;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ScaleOutTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_workers_share_a_batch_and_the_cap_holds_across_both()
    {
        const int jobs = 500, cap = 20;
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsScaleOut", output);
        try
        {
            // Each worker takes at most 4 chunks at once (of the 8 a batch keeps in flight): left unbounded, the worker
            // that polls fastest takes nearly everything, which proves nothing about sharing.
            var sized = new Dictionary<string, string> { ["DurableJobs__MaxConcurrentActivityWorkItems"] = "4" };
            HostProcess one = await cluster.StartWorkerAsync(sized);
            HostProcess two = await cluster.StartWorkerAsync(sized);

            // Adaptive chunking would size chunks at ~1 s of work (about 60 jobs of 20 ms each), few enough that one
            // worker may take them all; fixed chunks of 5 jobs give both workers many chances to pull work.
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Client__FixedJobsPerChunk"] = "5" });
            using var client = new BatchApi(api.BaseAddress!);

            await client.SubmitAsync(BatchApi.Batch("scale-out", cap, jobs, "delay", """{"ms":20}"""));
            JsonElement view = await client.WaitFinishedAsync("scale-out", TimeSpan.FromMinutes(3), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync("scale-out");
            Assert.Equal(jobs, results.Count);
            Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));

            int byOne = results.Count(r => r.Worker == one.WorkerName);
            int byTwo = results.Count(r => r.Worker == two.WorkerName);
            int overlap = Intervals.MaxOverlap(results.Select(r => (r.StartedAt!.Value, r.FinishedAt!.Value)));
            TimeSpan span = results.Max(r => r.FinishedAt!.Value) - results.Min(r => r.StartedAt!.Value);
            Figures.Report(output, "scale-out", $"{jobs} jobs x 20 ms at cap {cap} on 2 workers: worker-1 ran {byOne}, worker-2 ran {byTwo}; max overlap {overlap} (cap {cap}); first start to last finish {span.TotalSeconds:0.0} s");

            Assert.Equal(jobs, byOne + byTwo);
            Assert.True(byOne >= jobs / 10 && byTwo >= jobs / 10, $"each worker should run at least 10 % of the jobs: {byOne} / {byTwo}");
            Assert.True(overlap <= cap, $"{overlap} jobs overlapped; the cap is {cap}");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
