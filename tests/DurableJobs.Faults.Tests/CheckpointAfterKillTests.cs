using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// Issue 17 with real processes: a running job's progress is listed by another process's API, and when the worker
/// running the job is killed (SIGKILL), the redelivered attempt on the other worker resumes from its last checkpoint.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CheckpointAfterKillTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task A_20s_delay_killed_with_its_worker_after_4s_resumes_on_the_survivor_from_its_last_checkpoint_not_from_0()
    {
        const string batchId = "ckpt-kill";
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsCheckpoint", output, new Dictionary<string, string>
        {
            ["DurableJobs__PartitionCount"] = "1",
        });
        try
        {
            HostProcess victim = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            await client.SubmitAsync("""
                {"batchId":"ckpt-kill","maxParallel":1,"deadlineSeconds":600,
                 "jobs":[{"id":"long","type":"delay","payload":{"ms":20000,"checkpoint":true}}]}
                """);

            // The job's progress, written by the worker, read through the API process.
            JsonElement running = default;
            await Waits.UntilAsync(
                async () =>
                {
                    using JsonDocument page = JsonDocument.Parse(await client.Http.GetStringAsync($"/api/batches/{batchId}/jobs?status=Running"));
                    JsonElement[] items = [.. page.RootElement.GetProperty("items").EnumerateArray()];
                    running = items.Length == 1 ? items[0].Clone() : default;
                    // Listed from its first second on, with a value once the handler reported one.
                    return running.ValueKind == JsonValueKind.Object
                        && running.GetProperty("progress").GetProperty("value") is { ValueKind: JsonValueKind.Number } value && value.GetDouble() >= 20;
                },
                TimeSpan.FromMinutes(2),
                "the job listed Running at 20 % or more");
            double percentAtKill = running.GetProperty("progress").GetProperty("value").GetDouble();
            Assert.Equal(("long", "Running", victim.WorkerName), (running.GetProperty("id").GetString(), running.GetProperty("status").GetString(), running.GetProperty("worker").GetString()));
            Assert.Matches("^[0-9]+ of 20 s$", running.GetProperty("progress").GetProperty("message").GetString());

            HostProcess survivor = await cluster.StartWorkerAsync();
            var sinceKill = Stopwatch.StartNew();
            victim.KillHard();
            JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(3), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            TimeSpan finished = sinceKill.Elapsed;

            Assert.Equal("Completed", view.GetProperty("status").GetString());
            JobRecord job = Assert.Single(await client.GetJobsAsync(batchId));
            Assert.Equal(("Succeeded", survivor.WorkerName), (job.Status, job.Worker));
            long resumedAt = job.Output!.Value.GetProperty("resumedAtMs").GetInt64();

            // Checkpoints are saved each second: the last one before the kill is at most a second behind what was shown.
            Assert.InRange(resumedAt, (long)(percentAtKill * 200) - 1_000, 20_000);
            Figures.Report(output, "checkpoint", string.Create(CultureInfo.InvariantCulture,
                $"20 s delay killed with its worker at {percentAtKill:0} % (listed Running through the API process); resumed on the survivor at {resumedAt / 1000.0:0.0} s, batch finished {finished.TotalSeconds:0.0} s after the kill"));
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }
}
