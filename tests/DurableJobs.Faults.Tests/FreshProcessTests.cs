using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

[Collection(ClusterCollection.Name)]
public sealed class FreshProcessTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task A_worker_started_right_after_another_left_the_hub_runs_its_first_batch_and_its_first_job_within_5_s_of_the_submit()
    {
        const int rounds = 5, jobs = 20, cap = 10;

        // The engine's defaults (partitions, leases, polling), as `durablejobs serve` runs them; the API process submits.
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsFresh", output, new Dictionary<string, string>
        {
            ["DurableJobs__PartitionCount"] = "4",
        }, engineDefaults: true);
        try
        {
            HostProcess worker = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);

            // The hub's queues and tables exist after one batch; what is measured below is the new process only.
            await client.SubmitAsync(BatchApi.Batch("fresh-warm-up", cap, jobs, "delay", """{"ms":10}"""));
            await client.WaitFinishedAsync("fresh-warm-up", TimeSpan.FromMinutes(2));

            var firstStarts = new List<TimeSpan>();
            for (int round = 0; round < rounds; round++)
            {
                // As a deploy or restart does: SIGTERM, the process releases its leases and exits, a new one starts.
                worker.Terminate();
                Assert.True(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the worker did not exit within 30 s of SIGTERM");
                worker = await cluster.StartWorkerAsync();

                string batchId = $"fresh-{round}";
                DateTimeOffset submitted = DateTimeOffset.UtcNow;
                await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":10}"""));
                JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(2), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
                Assert.Equal("Completed", view.GetProperty("status").GetString());

                List<JobRecord> results = await client.GetJobsAsync(batchId);
                Assert.Equal(jobs, results.Count);
                Assert.All(results, r => Assert.Equal(worker.WorkerName, r.Worker));
                TimeSpan first = results.Min(r => r.StartedAt!.Value) - submitted;
                firstStarts.Add(first);
                output.WriteLine($"round {round}: first job {first.TotalMilliseconds:0} ms after the submit");
            }

            TimeSpan p50 = firstStarts.Order().ElementAt(rounds / 2);
            Figures.Report(output, "fresh", $"a worker started right after another left: submit → first job {string.Join(", ", firstStarts.Select(t => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))} ms (p50 {p50.TotalMilliseconds:0} ms; the submit call included)");
            Assert.All(firstStarts, t => Assert.True(t < TimeSpan.FromSeconds(5), $"the first job started {t.TotalSeconds:0.0} s after the submit"));
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
