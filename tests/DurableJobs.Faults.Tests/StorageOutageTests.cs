using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;

namespace DurableJobs.Faults.Tests;

[Collection(OutageCollection.Name)]
public sealed partial class StorageOutageTests(EmulatorFixture storage, ITestOutputHelper output)
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

    /// <summary>
    /// Storage gone for two minutes, far longer than the Azure SDK's own retries (about 25 s): a queue listener that let
    /// the SDK's exception escape stopped its whole host, the cancel-signal poll loop died for good (a cancel from
    /// another process then never reached running jobs, which were written off after the 30 s grace instead), and
    /// <c>run</c>'s progress loop ended the command. Everything here must ride it out.
    /// </summary>
    [Fact]
    public async Task A_two_minute_storage_outage_mid_batch_the_hosts_keep_serving_a_cancel_after_it_stops_running_jobs_within_15_s_and_the_batches_complete()
    {
        const int jobs = 2_000, cap = 10, runJobs = 200;
        const string batchId = "long-outage", cancelId = "cancel-after-outage", queuedId = "queued-after-outage";
        TimeSpan downtime = TimeSpan.FromMinutes(2);
        var apiSettings = new Dictionary<string, string> { ["DurableJobs__Queue__Enabled"] = "true", ["DurableJobs__Client__FixedJobsPerChunk"] = "5" };
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsLongOutage", output);
        string runFolder = Directory.CreateTempSubdirectory("durablejobs-outage-run-").FullName;
        var problems = new List<string>();
        using var stopRun = new CancellationTokenSource();
        Task? runTask = null;
        var runLines = new ConcurrentQueue<string>();
        try
        {
            HostProcess worker = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(apiSettings);
            var client = new BatchApi(api.BaseAddress!);

            // The main command, on a hub of its own in the same storage: its engine and its progress view ride the same outage.
            string file = Path.Combine(runFolder, "batch.json");
            await File.WriteAllTextAsync(file, BatchApi.Batch("run-across-outage", 4, runJobs, "delay", """{"ms":1000}"""));
            Task<(int ExitCode, string Output)> run = HostProcess.RunToEndAsync(
                ["run", file], RunEnvironment(cluster.HubName + "Run"), runFolder, TimeSpan.FromMinutes(9), runLines.Enqueue, stopRun.Token);
            runTask = run;
            await Waits.UntilAsync(() => RunSucceeded(runLines) >= 4 || run.IsCompleted, TimeSpan.FromMinutes(3), "run's batch under way");
            Assert.False(run.IsCompleted, $"run ended before the outage:{Environment.NewLine}{string.Join(Environment.NewLine, runLines)}");

            await client.SubmitAsync(BatchApi.Batch(batchId, cap, jobs, "delay", """{"ms":200}"""));
            // Cap 20 for 4 jobs: one chunk (5 jobs per chunk here) runs all 4 at once.
            await client.SubmitAsync(BatchApi.Batch(cancelId, 20, 4, "delay", """{"ms":600000}"""));
            await Waits.UntilAsync(
                async () => await client.SucceededAsync(batchId) >= 100 && await RunningAsync(client, cancelId) == 4,
                TimeSpan.FromMinutes(2),
                "the batch a twentieth done and the long jobs running");
            int doneAtStop = await client.SucceededAsync(batchId);
            int runDoneAtStop = RunSucceeded(runLines);
            Assert.True(doneAtStop < jobs && !run.IsCompleted, "the batches finished before the outage: it would prove nothing");

            var clock = Stopwatch.StartNew();
            await storage.Emulator.StopAndRestartAsync(downtime);
            TimeSpan outage = clock.Elapsed;
            output.WriteLine($"storage back after {outage.TotalSeconds:0.0} s; worker {(worker.HasExited ? $"exited {worker.ExitCode}" : "alive")}, api {(api.HasExited ? $"exited {api.ExitCode}" : "alive")}");
            if (worker.HasExited)
            {
                problems.Add($"the worker exited with {worker.ExitCode} during the outage");
            }

            if (api.HasExited)
            {
                // Reported, then replaced, so the rest of the outcome is still seen.
                problems.Add($"the API process (queue listener on) exited with {api.ExitCode} during the outage:{Environment.NewLine}{api.Tail(15)}");
                client.Dispose();
                api = await cluster.StartApiAsync(apiSettings);
                client = new BatchApi(api.BaseAddress!);
            }

            using (client)
            {
                JsonElement view = await client.WaitFinishedAsync(batchId, TimeSpan.FromMinutes(5), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
                TimeSpan finished = clock.Elapsed;
                List<JobRecord> results = await client.GetJobsAsync(batchId);
                string statuses = string.Join(", ", results.GroupBy(r => r.Status).Select(g => $"{g.Key} {g.Count()}"));
                if (view.GetProperty("status").GetString() != "Completed" || results.Count != jobs || results.Select(r => r.Id).Distinct().Count() != jobs || results.Any(r => r.Status != "Succeeded"))
                {
                    problems.Add($"batch {batchId}: {view.GetProperty("status").GetString()}, {results.Count} results ({statuses})");
                }

                // The queue listener still listens: a message sent after the outage becomes a batch.
                var queues = new QueueServiceClient(storage.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
                await queues.GetQueueClient(cluster.HubName.ToLowerInvariant() + "-batches").SendMessageAsync(BatchApi.Batch(queuedId, 5, 5, "echo", "{}"));
                string queued = await WaitStatusAsync(client, queuedId, TimeSpan.FromMinutes(1));
                if (queued != "Completed")
                {
                    problems.Add($"a queue message sent after the outage: batch {queuedId} is {queued}");
                }

                // A cancel written by this API process must reach the jobs running in the worker process through its poll loop.
                var cancelClock = Stopwatch.StartNew();
                using (HttpResponseMessage cancel = await client.CancelAsync(cancelId))
                {
                    Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
                }

                JsonElement cancelled = await client.WaitFinishedAsync(cancelId, TimeSpan.FromMinutes(2));
                TimeSpan cancelTook = cancelClock.Elapsed;
                List<JobRecord> stopped = await client.GetJobsAsync(cancelId);
                if (cancelled.GetProperty("status").GetString() != "Cancelled" || cancelTook > TimeSpan.FromSeconds(15) || stopped.Count != 4 || stopped.Any(r => r.Status != "Cancelled" || r.Attempts < 1))
                {
                    problems.Add($"cancel after the outage: {cancelled.GetProperty("status").GetString()} after {cancelTook.TotalSeconds:0.0} s; jobs {string.Join(", ", stopped.Select(r => $"{r.Id} {r.Status} attempts {r.Attempts}"))} (a running job the token reached is Cancelled with 1 attempt; one written off after the grace has 0)");
                }

                (int runExit, string runOutput) = await run;
                Match ended = EndedLine().Match(runOutput);
                if (runExit != 0 || !ended.Success || ended.Groups["status"].Value != "Completed")
                {
                    problems.Add($"run exited {runExit}:{Environment.NewLine}{string.Join(Environment.NewLine, runOutput.Split(Environment.NewLine).TakeLast(25))}");
                }

                Figures.Report(output, "storage-outage-2-min", $"storage down {outage.TotalSeconds:0.0} s (2 min + stop and restart) after {doneAtStop}/{jobs} jobs (run: {runDoneAtStop}/{runJobs}); batch finished {finished.TotalSeconds:0.0} s after the stop ({statuses}); worker {(worker.HasExited ? "exited" : "alive")}; queue batch after the outage {queued}; cancel after the outage: {cancelled.GetProperty("status").GetString()} in {cancelTook.TotalSeconds:0.0} s, attempts {string.Join("/", stopped.Select(r => r.Attempts))}; run exit {runExit}");
            }

            Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        }
        catch
        {
            cluster.DumpTails(60);
            output.WriteLine(string.Join(Environment.NewLine, runLines.TakeLast(40).Select(l => $"[run] {l}")));
            throw;
        }
        finally
        {
            // A run still going when the test failed is killed, not left to its timeout.
            await stopRun.CancelAsync();
            if (runTask is not null)
            {
                await runTask.ContinueWith(_ => { }, TaskScheduler.Default);
            }

            try
            {
                Directory.Delete(runFolder, recursive: true);
            }
            catch (IOException)
            {
                // Left for the OS's temp cleanup.
            }
        }
    }

    private Dictionary<string, string> RunEnvironment(string hubName) => new()
    {
        ["AzureWebJobsStorage"] = storage.ConnectionString,
        ["DurableJobs__HubName"] = hubName,
        ["DurableJobs__Azurite__AutoStart"] = "false",
        ["DurableJobs__LeaseInterval"] = "00:00:06",
        ["DurableJobs__LeaseRenewInterval"] = "00:00:02",
        ["DurableJobs__LeaseAcquireInterval"] = "00:00:02",
        ["DurableJobs__WorkItemQueueVisibilityTimeout"] = "00:00:15",
        ["DurableJobs__ControlQueueVisibilityTimeout"] = "00:00:15",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["NO_COLOR"] = "1",
    };

    private static async Task<int> RunningAsync(BatchApi client, string batchId) =>
        await client.GetBatchAsync(batchId) is { } view ? view.GetProperty("running").GetInt32() : 0;

    private static async Task<string> WaitStatusAsync(BatchApi client, string batchId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string status = "absent";
        while (clock.Elapsed < timeout)
        {
            if (await client.GetBatchAsync(batchId) is { } view)
            {
                status = view.GetProperty("status").GetString()!;
                if (status is "Completed" or "Failed" or "Cancelled" or "TimedOut")
                {
                    break;
                }
            }

            await Task.Delay(250);
        }

        return status;
    }

    /// <summary>The last "N ok" of run's progress lines.</summary>
    private static int RunSucceeded(IEnumerable<string> lines) =>
        lines.Select(l => ProgressLine().Match(l)).Where(m => m.Success).Select(m => int.Parse(m.Groups["ok"].Value, CultureInfo.InvariantCulture)).LastOrDefault();

    [GeneratedRegex(@"(?<ok>\d+) ok, ")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"Batch (?<id>\S+) ended (?<status>\w+) in (?<seconds>[\d.]+) s")]
    private static partial Regex EndedLine();
}
