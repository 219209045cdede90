using System.Diagnostics;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class GracefulShutdownTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_stops_a_loaded_worker_within_5_s_and_the_other_finishes_the_batch()
    {
        const int jobs = 160, cap = 60;
        const string batchId = "sigterm";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsSigterm", output);
        try
        {
            HostProcess one = await cluster.StartWorkerAsync();
            HostProcess two = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Client__FixedJobsPerChunk"] = "10" });
            using var client = new BatchApi(api.BaseAddress!);

            // Jobs of 4 s: whatever runs when SIGTERM lands is mid-handler, so only its token can stop it in time.
            await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":4000}"""));
            await Waits.UntilAsync(() => Math.Max(Executions.InFlight(batchId, one), Executions.InFlight(batchId, two)) >= 20, TimeSpan.FromMinutes(2), "20 jobs in flight on one worker");
            HostProcess victim = Executions.InFlight(batchId, one) >= Executions.InFlight(batchId, two) ? one : two;
            HostProcess survivor = victim == one ? two : one;
            int inFlight = Executions.InFlight(batchId, victim);

            victim.Terminate();
            var clock = Stopwatch.StartNew();
            bool exited = await victim.WaitForExitAsync(TimeSpan.FromSeconds(30));
            TimeSpan exitTime = clock.Elapsed;
            Assert.True(exited, "the worker did not exit within 30 s of SIGTERM");

            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(3), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            TimeSpan finished = clock.Elapsed;
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync(batchId);
            Assert.Equal(jobs, results.Count);
            Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));

            // The handlers saw their token: the runner logs each job the shutdown stopped, and none of those jobs
            // has a result from the stopped worker; the survivor ran them again.
            string[] stopped = victim.LinesContaining("stopped by host shutdown").Where(l => l.Contains($"Job {batchId}/", StringComparison.Ordinal))
                .Select(l => l.Split($"Job {batchId}/", 2)[1].Split(' ', 2)[0]).Distinct().ToArray();
            Dictionary<string, JobRecord> byId = results.ToDictionary(r => r.Id);
            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [one, two]);
            Figures.Report(output, "sigterm", $"SIGTERM with {inFlight} jobs (4 s each) in flight on the worker: exit code {victim.ExitCode} after {exitTime.TotalSeconds:0.00} s; {stopped.Length} handlers stopped by their token; the other worker finished the batch {finished.TotalSeconds:0.0} s after the signal; {results.Count(r => r.Worker == victim.WorkerName)} results by the stopped worker, {results.Count(r => r.Worker == survivor.WorkerName)} by the other; duplicate executions {Executions.Duplicates(starts)}");

            Assert.True(exitTime <= TimeSpan.FromSeconds(5), $"exit took {exitTime.TotalSeconds:0.00} s");
            Assert.Equal(0, victim.ExitCode);
            Assert.True(stopped.Length >= 20, $"{stopped.Length} handlers reported a stop by shutdown; {inFlight} were in flight");
            Assert.All(stopped, id => Assert.Equal(survivor.WorkerName, byId[id].Worker));
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
