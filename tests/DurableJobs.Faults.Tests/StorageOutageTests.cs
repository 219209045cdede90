using System.Diagnostics;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(OutageCollection.Name)]
public sealed class StorageOutageTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Azurite_stopped_and_restarted_mid_batch_every_job_is_accounted_for()
    {
        const int jobs = 300, cap = 10;
        const string batchId = "outage";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsOutage", output);
        try
        {
            HostProcess worker = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Client__FixedJobsPerChunk"] = "5" });
            using var client = new BatchApi(api.BaseAddress!);

            await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":100}"""));
            await Waits.UntilAsync(async () => await client.SucceededAsync(batchId) >= jobs / 5, TimeSpan.FromMinutes(2), "a fifth of the jobs done");
            int doneAtCrash = await client.SucceededAsync(batchId);

            // SIGTERM, not SIGKILL: Azurite killed hard while busy comes back without its queues and tables (it saves
            // its state every 5 s and on exit), which is the emulator losing data, not an outage. Stopped in order,
            // it is down for the whole interval and comes back with what it stored, as real storage does.
            var clock = Stopwatch.StartNew();
            await storage.Emulator.StopAndRestartAsync(TimeSpan.FromSeconds(5));
            TimeSpan outage = clock.Elapsed;

            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(4), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            TimeSpan finished = clock.Elapsed;
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("total").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync(batchId);
            Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
            Assert.Equal(jobs, results.Count);
            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [worker]);
            string statuses = string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Key} {g.Count()}"));
            Figures.Report(output, "storage-outage", $"Azurite stopped after {doneAtCrash}/{jobs} jobs, down {outage.TotalSeconds:0.0} s (5 s + restart); batch finished {finished.TotalSeconds:0.0} s after the stop: {jobs} results ({statuses}); duplicate executions {Executions.Duplicates(starts)}; worker restarts 0 (both processes rode it out: {(worker.HasExited ? "worker exited!" : "worker alive")}, {(api.HasExited ? "api exited!" : "api alive")})");
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));
            Assert.False(worker.HasExited);
            Assert.False(api.HasExited);
        }
        catch
        {
            cluster.DumpTails(60);
            throw;
        }
    }
}
