using System.Diagnostics;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class WorkerCrashTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_a_worker_mid_batch_loses_no_job_and_records_each_once()
    {
        const int jobs = 400, cap = 20;
        const string batchId = "kill-9";

        // One partition: one worker runs the orchestration. That is the one killed, so the test also measures how
        // long its partition takes to move to the survivor.
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsKill", output, new Dictionary<string, string>
        {
            ["DurableJobs__PartitionCount"] = "1",
            ["DurableJobs__MaxConcurrentActivityWorkItems"] = "4",
        });
        try
        {
            HostProcess one = await cluster.StartWorkerAsync();
            HostProcess two = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Client__FixedJobsPerChunk"] = "5" });
            using var client = new BatchApi(api.BaseAddress!);
            var leases = new PartitionLeases(storage.ConnectionString, cluster.HubName);

            await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":150}"""));
            await Waits.UntilAsync(async () => await client.SucceededAsync(batchId) >= jobs / 5, TimeSpan.FromMinutes(2), "a fifth of the jobs done");

            Dictionary<string, string?> owners = await leases.OwnersAsync();
            output.WriteLine($"partition owners before the kill: {string.Join(", ", owners.Select(o => $"{o.Key}={o.Value}"))}");
            string? ownerName = Assert.Single(owners).Value;
            HostProcess victim = ownerName == one.WorkerName ? one : two;
            HostProcess survivor = victim == one ? two : one;
            Assert.Equal(victim.WorkerName, ownerName);
            int doneAtKill = await client.SucceededAsync(batchId);
            int victimInFlight = Executions.InFlight(batchId, victim);

            victim.KillHard();
            var sinceKill = Stopwatch.StartNew();
            await Waits.UntilAsync(async () => (await leases.OwnersAsync()).Values.All(o => o == survivor.WorkerName), TimeSpan.FromMinutes(1), "the partition moving to the survivor");
            TimeSpan moved = sinceKill.Elapsed;

            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(3), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            TimeSpan finished = sinceKill.Elapsed;
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("total").GetInt32());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync(batchId);
            Assert.Equal(jobs, results.Count);
            Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));

            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [one, two]);
            Assert.Equal(jobs, starts.Count);
            int duplicates = Executions.Duplicates(starts);
            int byVictim = results.Count(r => r.Worker == victim.WorkerName);
            Figures.Report(output, "kill-9", $"killed the partition owner after {doneAtKill}/{jobs} jobs with {victimInFlight} of its jobs in flight; its partition moved in {moved.TotalSeconds:0.0} s (lease 6 s, renew 2 s, acquire 2 s); batch finished {finished.TotalSeconds:0.0} s after the kill (work-item visibility timeout 15 s)");
            Figures.Report(output, "kill-9", $"{jobs} jobs, {jobs} results, none lost, none recorded twice; {byVictim} results recorded by the killed worker, {jobs - byVictim} by the survivor; duplicate executions: {duplicates} (jobs started on the killed worker and run again)");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
