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

    [Fact]
    public async Task With_the_engine_defaults_a_batch_whose_partition_owner_is_killed_finishes_within_30_s_of_the_kill_with_each_job_recorded_once()
    {
        // 600 x 200 ms at cap 20: 6 s at the limit, killed about a quarter of the way, so what is left takes ~4.5 s
        // and the rest of the 30 s is the wait for the dead worker's partition and chunks. With Durable Task's own
        // defaults (30 s leases acquired every 10 s, 5 min work-item visibility) the batch ended 5 min after the kill.
        const int jobs = 600, cap = 20;
        const string batchId = "kill-9-defaults";
        TimeSpan bound = TimeSpan.FromSeconds(30);

        // One partition, so the killed worker runs the batch's orchestration; no lease, visibility or polling setting,
        // so the processes run the engine's defaults. Durable Task's lease lines (Information) show every claim.
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsKillDefaults", output, new Dictionary<string, string>
        {
            ["DurableJobs__PartitionCount"] = "1",
            ["Logging__LogLevel__DurableTask.AzureStorage"] = "Information",
        }, engineDefaults: true);
        try
        {
            var leases = new PartitionLeases(storage.ConnectionString, cluster.HubName);
            HostProcess victim = await cluster.StartWorkerAsync();
            await Waits.UntilAsync(async () => (await leases.OwnersAsync()).Values.Any(o => o == victim.WorkerName), TimeSpan.FromMinutes(1), "the first worker owning the partition");
            HostProcess survivor = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);

            await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":200}"""));
            await Waits.UntilAsync(async () => await client.SucceededAsync(batchId) >= jobs / 4, TimeSpan.FromMinutes(2), "a quarter of the jobs done");

            // One partition and two workers leave nothing to balance: it is still the first worker's.
            Assert.Equal(victim.WorkerName, Assert.Single(await leases.OwnersAsync()).Value);
            int doneAtKill = await client.SucceededAsync(batchId);
            // Both clocks start as the kill is issued (KillHard returns once the process is reaped).
            DateTimeOffset killedAt = DateTimeOffset.UtcNow;
            var sinceKill = Stopwatch.StartNew();
            victim.KillHard();
            await Waits.UntilAsync(async () => (await leases.OwnersAsync()).Values.All(o => o == survivor.WorkerName), TimeSpan.FromMinutes(2), "the partition moving to the survivor", TimeSpan.FromMilliseconds(250));
            TimeSpan moved = sinceKill.Elapsed;

            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(7), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            TimeSpan finished = sinceKill.Elapsed;
            Assert.Equal("Completed", view.GetProperty("status").GetString());
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());

            List<JobRecord> results = await client.GetJobsAsync(batchId);
            Assert.Equal(jobs, results.Count);
            Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
            Assert.All(results, r => Assert.Equal("Succeeded", r.Status));

            // What the survivor waited on: the chunks the dead worker held come back after their visibility timeout (the
            // first job it had started, run again here), the rest of the batch after the orchestration moves (the longest
            // pause between job starts after the kill, once the survivor's own chunks ran out).
            Dictionary<string, List<string>> starts = Executions.StartsByJob(batchId, [victim, survivor]);
            var startedOnVictim = starts.Where(s => s.Value.Contains(victim.Name)).Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
            DateTimeOffset[] afterKill = [.. results.Where(r => r.StartedAt > killedAt).Select(r => r.StartedAt!.Value).Order()];
            DateTimeOffset? firstRedelivered = results.Where(r => r.Worker == survivor.WorkerName && startedOnVictim.Contains(r.Id) && r.StartedAt > killedAt).Min(r => r.StartedAt);
            TimeSpan longestPause = afterKill.Prepend(killedAt).Zip(afterKill, (a, b) => b - a).DefaultIfEmpty().Max();
            TimeSpan lastFinish = results.Max(r => r.FinishedAt!.Value) - killedAt;
            Figures.Report(output, "kill-9 defaults", $"killed the partition owner after {doneAtKill}/{jobs} jobs; partition moved {moved.TotalSeconds:0.0} s after the kill; " +
                $"first of its jobs run again on the survivor {(firstRedelivered - killedAt)?.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) ?? "-"} s after; longest pause between job starts after the kill {longestPause.TotalSeconds:0.0} s; " +
                $"last job finished {lastFinish.TotalSeconds:0.0} s after, batch final {finished.TotalSeconds:0.0} s after; {Executions.Duplicates(starts)} duplicate executions");
            Assert.True(finished <= bound, $"the batch was final {finished.TotalSeconds:0.0} s after its partition owner was killed (partition moved after {moved.TotalSeconds:0.0} s); the engine's defaults should bring it within {bound.TotalSeconds:0} s.");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
