using System.Diagnostics;
using System.Text.Json;
using Azure.Data.Tables;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Signals;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

[Collection(EmulatorCollection.Name)]
public sealed class DurabilityTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    private static readonly Dictionary<string, string?> FastFailover = new()
    {
        ["DurableJobs:LeaseInterval"] = "00:00:05",
        ["DurableJobs:LeaseRenewInterval"] = "00:00:01",
        ["DurableJobs:LeaseAcquireInterval"] = "00:00:01",
        ["DurableJobs:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["DurableJobs:ControlQueueVisibilityTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task HostStopsWithJobsInFlight_HandlersSeeTheirToken_AndANewHostFinishesTheBatch()
    {
        string hub = "dura" + Guid.NewGuid().ToString("N")[..12];
        var probe = new ProbeJobHandler();
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 12).Select(i => new JobSpec { Id = $"job-{i}", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 1_500 }) }).ToList(),
            MaxParallel = 3,
            DeadlineSeconds = 600,
        };

        string id;
        TimeSpan stopTook;
        await using (EngineHost first = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover))
        {
            SubmitOutcome outcome = await first.Client.SubmitAsync(request);
            id = outcome.BatchId!;
            await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 3, TimeSpan.FromSeconds(60), what: "jobs running");
            stopTook = await first.StopAsync();
        }

        output.WriteLine($"host stopped in {stopTook.TotalMilliseconds:0} ms");
        Assert.True(stopTook < TimeSpan.FromSeconds(5), $"stop took {stopTook.TotalSeconds:0.0} s");
        ProbeRecord[] interrupted = probe.For(id).Where(r => r.CancelledAt is not null).ToArray();
        Assert.NotEmpty(interrupted);
        Assert.All(probe.For(id), r => Assert.NotNull(r.EndedAt));

        var clock = Stopwatch.StartNew();
        await using EngineHost second = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);
        BatchView view = await Eventually.MatchAsync(async () => (await second.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(250), "batch finished on the second host");
        output.WriteLine($"second host finished the batch in {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(12, view.Succeeded);
        JobPage jobs = (await second.Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"job-{i}"), jobs.Items.Select(j => j.Id));
        Assert.All(jobs.Items, j => Assert.Equal(JobStatus.Succeeded, j.Status));

        // The interrupted jobs ran again to completion; none was lost and none was recorded as failed.
        foreach (ProbeRecord stopped in interrupted)
        {
            Assert.Contains(probe.For(id), r => r.JobId == stopped.JobId && r.CancelledAt is null && r.StartedAt > stopped.StartedAt);
        }
    }

    /// <summary>
    /// Azure answers 503 (ServerBusy) when it throttles, for as long as the load lasts. The chunks' infrastructure
    /// failures were retried 5 times over about 15 s, so 40 s of throttling marked every job Failed although nothing
    /// was wrong with them; they are retried until the batch's deadline now.
    /// </summary>
    [Fact]
    public async Task Result_store_throttled_for_40_s_chunks_are_retried_until_it_answers_and_all_8_jobs_succeed()
    {
        string hub = "thrl" + Guid.NewGuid().ToString("N")[..12];
        TroubledBatchStore? store = null;
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 8).Select(i => new JobSpec { Id = $"job-{i}", Type = "delay", Payload = JsonSerializer.SerializeToElement(new { ms = 100 }) }).ToList(),
            MaxParallel = 4,
            DeadlineSeconds = 600,
        };

        await using EngineHost host = await EngineHost.StartAsync(
            fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), configure: s => TroubledBatchStore.Wrap(s, inner => store = new TroubledBatchStore(inner) { ThrottleFor = TimeSpan.FromSeconds(40) }));
        var clock = Stopwatch.StartNew();
        string id = (await host.Client.SubmitAsync(request)).BatchId!;
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromMinutes(4), TimeSpan.FromMilliseconds(250), "batch finished");
        JobPage jobs = (await host.Client.GetJobsAsync(id, top: 100))!;
        TimeSpan[] refused = store!.Refusals.Order().ToArray();
        output.WriteLine($"{view.Status} after {clock.Elapsed.TotalSeconds:0.0} s: {view.Succeeded} succeeded, {view.Failed} failed; {refused.Length} refused store calls from {refused.FirstOrDefault().TotalSeconds:0.0} s to {refused.LastOrDefault().TotalSeconds:0.0} s");

        Assert.True(refused.Length > 0 && refused[^1] >= TimeSpan.FromSeconds(20), "the store refused nothing after the old 15 s of retries: the test proves nothing");
        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(8, view.Succeeded);
        Assert.All(jobs.Items, j => Assert.Equal(JobStatus.Succeeded, j.Status));
    }

    /// <summary>
    /// A chunk's reads before its first job (cancel watch, jobs, recorded results, checkpoints) go out together: the store
    /// holds each jobs read until the same chunk's results read has started, which before took 2 s per chunk (the results
    /// were read only after the jobs) and now is at once.
    /// </summary>
    [Fact]
    public async Task A_chunks_jobs_and_recorded_results_are_read_at_the_same_time_not_one_after_the_other()
    {
        string hub = "rdbs" + Guid.NewGuid().ToString("N")[..12];
        TroubledBatchStore? store = null;
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 12).Select(i => new JobSpec { Id = $"job-{i}", Type = "echo" }).ToList(),
            MaxParallel = 4,
            DeadlineSeconds = 600,
        };

        await using EngineHost host = await EngineHost.StartAsync(
            fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), configure: s => TroubledBatchStore.Wrap(s, inner => store = new TroubledBatchStore(inner) { JobsReadWaitsForResultsRead = true }));
        string id = (await host.Client.SubmitAsync(request)).BatchId!;
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(250), "batch finished");
        output.WriteLine($"{view.Status}: jobs reads beside their results read {store!.JobsReadsBesideResultsRead}, alone {store.JobsReadsAlone}");

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.True(store.JobsReadsBesideResultsRead > 0, "no chunk read its jobs: the test proves nothing");
        Assert.Equal(0, store.JobsReadsAlone);
    }

    /// <summary>
    /// Throttled past the batch's deadline: the chunks could not run before it, so their jobs end TimedOut like every
    /// other job the deadline stops, not Failed as if they had run and failed.
    /// </summary>
    [Fact]
    public async Task Result_store_throttled_for_60_s_past_a_20_s_deadline_the_8_jobs_end_TimedOut_not_Failed()
    {
        string hub = "thrd" + Guid.NewGuid().ToString("N")[..12];
        TroubledBatchStore? store = null;
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 8).Select(i => new JobSpec { Id = $"job-{i}", Type = "delay", Payload = JsonSerializer.SerializeToElement(new { ms = 100 }) }).ToList(),
            MaxParallel = 4,
            DeadlineSeconds = 20,
        };

        await using EngineHost host = await EngineHost.StartAsync(
            fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), configure: s => TroubledBatchStore.Wrap(s, inner => store = new TroubledBatchStore(inner) { ThrottleFor = TimeSpan.FromSeconds(60) }));
        string id = (await host.Client.SubmitAsync(request)).BatchId!;
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromMinutes(4), TimeSpan.FromMilliseconds(250), "batch finished");
        JobPage jobs = (await host.Client.GetJobsAsync(id, top: 100))!;
        output.WriteLine($"{view.Status}: {view.Succeeded} succeeded, {view.Failed} failed, {view.TimedOut} timed out; recorded: {string.Join(", ", jobs.Items.GroupBy(j => j.Status).Select(g => $"{g.Key} {g.Count()}"))}; {store!.Refusals.Count} refused store calls");

        Assert.Equal(BatchStatus.TimedOut, view.Status);
        Assert.Equal(8, view.TimedOut);
        Assert.Equal(8, jobs.Items.Count);
        Assert.All(jobs.Items, j => Assert.Equal(JobStatus.TimedOut, j.Status));
    }

    /// <summary>
    /// A host told to stop while a chunk waits on storage: the wait ends with the shutdown's cancellation, which must
    /// hand the chunk back like any other shutdown, not fail it (a failed chunk used up one of its retries and is an
    /// error in the batch's history and traces).
    /// </summary>
    [Fact]
    public async Task Host_stopped_while_chunks_wait_on_storage_hands_them_back_with_no_failed_chunk_in_the_history_and_the_next_host_succeeds_all_4_jobs()
    {
        string hub = "hang" + Guid.NewGuid().ToString("N")[..12];
        var probe = new ProbeJobHandler();
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 4).Select(i => new JobSpec { Id = $"job-{i}", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 100 }) }).ToList(),
            MaxParallel = 4,
            DeadlineSeconds = 600,
        };

        string id;
        TroubledBatchStore? store = null;
        await using (EngineHost first = await EngineHost.StartAsync(
            fixture.Emulator.ConnectionString, hub, probe, FastFailover, configure: s => TroubledBatchStore.Wrap(s, inner => store = new TroubledBatchStore(inner) { Hang = true })))
        {
            id = (await first.Client.SubmitAsync(request)).BatchId!;
            await Eventually.MatchAsync(() => Task.FromResult(store!.Hung), n => n >= 4, TimeSpan.FromSeconds(60), what: "chunks waiting on storage");
            await first.StopAsync();
        }

        await using EngineHost second = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);
        BatchView view = await Eventually.MatchAsync(async () => (await second.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(250), "batch finished on the second host");
        Dictionary<string, int> history = await HistoryEventsAsync(hub, id);
        output.WriteLine($"{view.Status}: {view.Succeeded} succeeded; history: {string.Join(", ", history.Select(e => $"{e.Key} {e.Value}"))}");

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(4, view.Succeeded);
        Assert.True(history.GetValueOrDefault("TaskCompleted") >= 4, "the history holds no completed chunks: it is not the history this test means to read");
        Assert.Equal(0, history.GetValueOrDefault("TaskFailed"));
    }

    /// <summary>
    /// The poll loop that carries a cancel from another process to running jobs, across an outage longer than the
    /// Azure SDK's retries: the SDK's AggregateException ended the loop for good, so cancels stopped reaching this
    /// process, and disposing the signals threw it (run died with it, exit 134).
    /// </summary>
    [Fact]
    public async Task Cancel_signals_ride_out_a_15_s_storage_outage_and_a_cancel_from_another_process_after_it_fires_the_watch_within_8_s()
    {
        // Its own emulator: this test stops it.
        await using StorageEmulator storage = await StorageEmulator.StartAsync();
        var worker = new TableBatchCancellationSignals(new TableClient(storage.ConnectionString, "OutageSignals"), TimeSpan.FromMilliseconds(250), NullLogger<TableBatchCancellationSignals>.Instance);
        await using var client = new TableBatchCancellationSignals(new TableClient(storage.ConnectionString, "OutageSignals"), TimeSpan.FromMilliseconds(250), NullLogger<TableBatchCancellationSignals>.Instance);
        using IBatchCancellationWatch watch = await worker.WatchAsync("across-outage");

        await storage.StopAndRestartAsync(TimeSpan.FromSeconds(15));
        await client.SignalCancelAsync("across-outage");
        var clock = Stopwatch.StartNew();
        var fired = new TaskCompletionSource<TimeSpan>();
        TimeSpan? firedAfter = null;
        using (watch.Token.Register(() => fired.TrySetResult(clock.Elapsed)))
        {
            if (await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromSeconds(30))) == fired.Task)
            {
                firedAfter = await fired.Task;
            }
        }

        Exception? disposing = await Record.ExceptionAsync(() => worker.DisposeAsync().AsTask());
        output.WriteLine((firedAfter is { } after ? $"the watch fired {after.TotalSeconds:0.00} s after the cancel" : "the watch did not fire within 30 s")
            + $"; disposing the signals {(disposing is null ? "threw nothing" : $"threw {disposing.GetType().Name}: {disposing.Message}")}");
        Assert.True(firedAfter is not null, "a cancel written after the outage never reached the watch");
        // Polls back off to 5 s while storage fails; the first round after it reads the cancel.
        Assert.True(firedAfter < TimeSpan.FromSeconds(8), $"the watch fired {firedAfter?.TotalSeconds:0.0} s after the cancel");
        Assert.Null(disposing);
    }

    /// <summary>
    /// Chunks that finish while storage is down can report nothing: Durable Task's attempts to complete their work
    /// items, then to abandon them, fail, and it kept tracking them, refusing every later delivery as "being processed
    /// multiple times concurrently". The batch hung for the life of the process; it must finish once storage is back.
    /// </summary>
    [Fact]
    public async Task Chunks_finishing_during_a_60_s_storage_outage_run_again_after_it_and_all_4_jobs_succeed_within_2_minutes()
    {
        // Its own emulator: this test stops it.
        await using StorageEmulator storage = await StorageEmulator.StartAsync();
        string hub = "outg" + Guid.NewGuid().ToString("N")[..12];
        var probe = new ProbeJobHandler();
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 4).Select(i => new JobSpec { Id = $"job-{i}", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 5_000 }) }).ToList(),
            MaxParallel = 4,
            DeadlineSeconds = 900,
        };

        await using EngineHost host = await EngineHost.StartAsync(storage.ConnectionString, hub, probe, FastFailover);
        string id = (await host.Client.SubmitAsync(request)).BatchId!;
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 4, TimeSpan.FromSeconds(60), what: "jobs running");

        // The jobs end 5 s into the outage; recording their results and reporting their chunks fail until it is over.
        await storage.StopAndRestartAsync(TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(500), "batch finished after the outage");
        output.WriteLine($"{view.Status} {clock.Elapsed.TotalSeconds:0.0} s after storage was back: {view.Succeeded} succeeded; {probe.For(id).Count} executions");

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(4, view.Succeeded);
    }

    /// <summary>How many events of each type the orchestration's history table holds.</summary>
    private async Task<Dictionary<string, int>> HistoryEventsAsync(string hub, string instanceId)
    {
        var history = new TableClient(fixture.Emulator.ConnectionString, hub + "History");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (TableEntity row in history.QueryAsync<TableEntity>(e => e.PartitionKey == instanceId))
        {
            if (row.GetString("EventType") is { } type)
            {
                counts[type] = counts.GetValueOrDefault(type) + 1;
            }
        }

        return counts;
    }
}
