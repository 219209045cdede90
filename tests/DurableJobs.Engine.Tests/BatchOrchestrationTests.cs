using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

[Collection(EmulatorCollection.Name)]
public sealed class BatchOrchestrationTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly ProbeJobHandler probe = new();
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    private string HubName { get; } = "orch" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync() =>
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, HubName, probe, configure: s => s.AddSingleton(new WorkerIdentity("first")));

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task SlidingWindow_FiftyJobsAtCapFive_AllSucceed_OverlapIsFourOrFive()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 50).Select(_ => Job("delay", new { ms = 200 })), maxParallel: 5, deadlineSeconds: 600);

        (BatchView view, JobPage jobs) = await RunToEndAsync(request);

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(50, view.Succeeded);
        Assert.All(jobs.Items, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        int overlap = Intervals.MaxOverlap(jobs.Items.Select(j => (j.StartedAt!.Value, j.FinishedAt!.Value)));
        output.WriteLine($"max overlap {overlap}");
        Assert.InRange(overlap, 4, 5);
    }

    /// <summary>
    /// Issue 14's regression guard: a lane's next chunk takes over its slots as the jobs before it finish, so the cap is
    /// held, not just touched. With chunk-at-a-time lanes each lane idled for its chunk's tail and an orchestration round
    /// trip, and fewer than 18 of 20 ran for about half of the run.
    /// </summary>
    [Fact]
    public async Task HoldTheCap_1000JobsOf100MsAtCap20_FewerThan18RunForUnder20PercentOfTheSteadyPart_NeverMoreThan20()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 1_000).Select(_ => Job("delay", new { ms = 100 })), maxParallel: 20, deadlineSeconds: 600);

        (BatchView view, JobPage jobs) = await RunToEndAsync(request);

        Assert.Equal((BatchStatus.Completed, 1_000), (view.Status, view.Succeeded));
        (DateTimeOffset Start, DateTimeOffset End)[] spans = [.. jobs.Items.Select(j => (j.StartedAt!.Value, j.FinishedAt!.Value))];
        DateTimeOffset first = spans.Min(s => s.Start), last = spans.Max(s => s.End);
        DateTimeOffset from = first.AddSeconds(1), to = last.AddSeconds(-1);
        TimeSpan below = Intervals.TimeBelow(spans, 18, from, to);
        double share = below / (to - from);
        output.WriteLine($"run {(last - first).TotalSeconds:0.00} s (limit 5.00 s); fewer than 18 running for {below.TotalSeconds:0.00} s of the {(to - from).TotalSeconds:0.00} s steady part ({share:P0}); max overlap {Intervals.MaxOverlap(spans)}");
        Assert.True(Intervals.MaxOverlap(spans) <= 20, "more jobs ran at once than the cap");
        Assert.True(share < 0.2, $"fewer than 18 of 20 ran for {share:P0} of the steady part");
    }

    /// <summary>
    /// Two workers on one hub with 4 activity slots each, so a batch of 8 lanes (16 chunks with those granted ahead) must
    /// spread over both: a chunk whose predecessor in the lane runs on the other worker is deferred and granted again
    /// once that one finished, so the cap holds across workers, and no worker deadlocks with every slot held by a
    /// chunk waiting for one queued behind it.
    /// </summary>
    [Fact]
    public async Task TwoWorkersWithFourSlotsEach_600JobsOf50MsAtCap12_BothRunJobs_NeverMoreThan12AtOnce()
    {
        string hub = "two" + Guid.NewGuid().ToString("N")[..12];
        // 8 lanes (the default is 4 for this cap): more chunks than one worker has slots for.
        var fewSlots = new Dictionary<string, string?> { ["DurableJobs:MaxConcurrentActivityWorkItems"] = "4", ["DurableJobs:Client:MinLanes"] = "8" };
        await using EngineHost a = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, fewSlots, configure: s => s.AddSingleton(new WorkerIdentity("a")));
        await using EngineHost b = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, fewSlots, configure: s => s.AddSingleton(new WorkerIdentity("b")));
        BatchRequest request = Batch(Enumerable.Range(0, 600).Select(_ => Job("delay", new { ms = 50 })), maxParallel: 12, deadlineSeconds: 600);

        SubmitOutcome outcome = await a.Client.SubmitAsync(request);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
        BatchView view = await Eventually.MatchAsync(async () => (await a.Client.GetAsync(outcome.BatchId!))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), "batch finished");
        var items = new List<JobResult>();
        string? token = null;
        do
        {
            JobPage page = (await a.Client.GetJobsAsync(outcome.BatchId!, top: 1_000, continuationToken: token))!;
            items.AddRange(page.Items);
            token = page.ContinuationToken;
        }
        while (token is not null);

        Assert.True(view.Succeeded == 600, $"batch {view.Status}: {view.Succeeded} succeeded, {view.Failed} failed, {view.TimedOut} timed out, {view.Cancelled} cancelled, {view.Failure}\n"
            + string.Join("\n", items.Where(j => j.Status != JobStatus.Succeeded).Take(3).Select(j => $"{j.Id} {j.Status} on {j.Worker} after {j.Attempts} attempts: {j.Error?.Message}")));
        Assert.Equal(BatchStatus.Completed, view.Status);
        (DateTimeOffset Start, DateTimeOffset End)[] spans = [.. items.Select(j => (j.StartedAt!.Value, j.FinishedAt!.Value))];
        var byWorker = items.GroupBy(j => j.Worker).ToDictionary(g => g.Key ?? "?", g => g.Count());
        output.WriteLine($"max overlap {Intervals.MaxOverlap(spans)}; jobs by worker: {string.Join(", ", byWorker.Select(kv => $"{kv.Key} {kv.Value}"))}; run {(spans.Max(s => s.End) - spans.Min(s => s.Start)).TotalSeconds:0.00} s (limit 2.50 s)");
        Assert.True(Intervals.MaxOverlap(spans) <= 12, "more jobs ran at once than the cap");
        Assert.Equal(2, byWorker.Count);
    }

    [Fact]
    public async Task Deadline_StopsRunningJobs_AndTimesOutTheRest_WithinDeadlinePlusTwoSeconds()
    {
        // Short and long jobs, so the outcome does not hang on how fast the first chunks start: the short ones
        // finish well before the deadline, the long ones are certainly running at it, and the last ones wait.
        int[] lengthsMs = [500, 20_000, 500, 20_000, 20_000, 20_000];
        BatchRequest request = Batch(lengthsMs.Select(ms => Job("probe", new { ms })), maxParallel: 2, deadlineSeconds: 4);

        var clock = Stopwatch.StartNew();
        string id = await SubmitAsync(request);
        BatchView view = await WaitFinishedAsync(id);
        clock.Stop();
        output.WriteLine($"finished after {clock.Elapsed.TotalSeconds:0.00} s");

        Assert.Equal(BatchStatus.TimedOut, view.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4 + 2), $"took {clock.Elapsed.TotalSeconds:0.00} s");
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(6, jobs.Items.Count);
        Assert.Contains(jobs.Items, j => j.Status == JobStatus.Succeeded);
        Assert.Contains(jobs.Items, j => j.Status == JobStatus.TimedOut && j.Attempts > 0);
        Assert.Contains(jobs.Items, j => j.Status == JobStatus.TimedOut && j.Attempts == 0);
        Assert.Equal(6, view.Succeeded + view.TimedOut);

        // The jobs running at the deadline were stopped through their token, not left to finish.
        ProbeRecord[] interrupted = probe.For(id).Where(r => r.CancelledAt is not null).ToArray();
        Assert.NotEmpty(interrupted);
        Assert.All(interrupted, r => Assert.True(r.EndedAt - r.StartedAt < TimeSpan.FromSeconds(10)));
        Assert.Equal(jobs.Items.Count(j => j.Status == JobStatus.TimedOut && j.Attempts > 0), interrupted.Length);
    }

    [Fact]
    public async Task WorkWinsTheRace_OrchestrationCompletesAtOnce_NotAtTheDeadline()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 4).Select(_ => Job("delay", new { ms = 1_000 })), maxParallel: 4, deadlineSeconds: 600);

        var clock = Stopwatch.StartNew();
        string id = await SubmitAsync(request);
        BatchView view = await WaitFinishedAsync(id);
        clock.Stop();

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(4, view.Succeeded);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed.TotalSeconds:0.0} s under a 10-minute deadline");
    }

    [Fact]
    public async Task Cancel_StopsRunningHandlers_StartsNothingNew_AndEndsCancelledWithinTwoSeconds()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 30).Select(_ => Job("probe", new { ms = 10_000 })), maxParallel: 3, deadlineSeconds: 600);
        string id = await SubmitAsync(request);
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n == 3, Patience, what: "three handlers running");

        DateTimeOffset cancelledAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        Assert.Equal(CancelOutcome.Accepted, await Client.CancelAsync(id, "test"));
        BatchView view = await WaitFinishedAsync(id, TimeSpan.FromMilliseconds(50));
        clock.Stop();
        output.WriteLine($"cancelled after {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(BatchStatus.Cancelled, view.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal(30, view.Cancelled);
        IReadOnlyCollection<ProbeRecord> records = probe.For(id);
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.NotNull(r.CancelledAt));
        Assert.All(records, r => Assert.True(r.StartedAt < cancelledAt));
        Assert.Equal(CancelOutcome.AlreadyFinished, await Client.CancelAsync(id));
    }

    [Fact]
    public async Task Retries_FailTwiceThenSucceed_OrExhaustAndFailWithTheLastError()
    {
        var retry = new RetrySpec { MaxAttempts = 3, FirstRetryDelaySeconds = 0.1, BackoffCoefficient = 2 };
        BatchRequest request = Batch(
            [
                Job("fail", new { failTimes = 2, message = "flaky" }, "recovers"),
                Job("fail", new { failTimes = 5, message = "still broken" }, "gives-up"),
            ],
            maxParallel: 2,
            deadlineSeconds: 600) with { Retry = retry };

        (BatchView view, JobPage jobs) = await RunToEndAsync(request);

        Assert.Equal(BatchStatus.Completed, view.Status);
        JobResult recovers = jobs.Items.Single(j => j.Id == "recovers");
        Assert.Equal(JobStatus.Succeeded, recovers.Status);
        Assert.Equal(3, recovers.Attempts);
        JobResult givesUp = jobs.Items.Single(j => j.Id == "gives-up");
        Assert.Equal(JobStatus.Failed, givesUp.Status);
        Assert.Equal(3, givesUp.Attempts);
        Assert.Equal("still broken", givesUp.Error!.Message);
        Assert.Equal(1, view.Failed);
    }

    [Fact]
    public async Task Progress_IsVisibleAndIncreasing_WhileTheBatchRuns()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 40).Select(_ => Job("delay", new { ms = 150 })), maxParallel: 4, deadlineSeconds: 600);
        string id = await SubmitAsync(request);

        var seen = new List<BatchView>();
        BatchView view;
        do
        {
            view = (await Client.GetAsync(id))!;
            seen.Add(view);
            await Task.Delay(100);
        }
        while (!view.IsFinished);

        int[] finished = seen.Select(v => v.Succeeded + v.Failed + v.TimedOut + v.Cancelled).ToArray();
        Assert.True(finished.Zip(finished.Skip(1)).All(p => p.Second >= p.First), string.Join(",", finished));
        Assert.True(seen.Count(v => v.Status == BatchStatus.Running && v.Succeeded is > 0 and < 40) >= 2, "progress seen mid-run at least twice");
        Assert.All(seen.Where(v => v.Status == BatchStatus.Running), v =>
        {
            Assert.Equal(40, v.Total);
            Assert.Equal(40, v.Succeeded + v.Running + v.Pending);
            Assert.InRange(v.Running, 0, 4);
        });
        Assert.Equal(40, view.Succeeded);
    }

    private static BatchRequest Batch(IEnumerable<JobSpec> jobs, int maxParallel, double deadlineSeconds) => new()
    {
        Jobs = jobs.ToList(),
        MaxParallel = maxParallel,
        DeadlineSeconds = deadlineSeconds,
    };

    private static JobSpec Job(string type, object payload, string? id = null) => new()
    {
        Id = id,
        Type = type,
        Payload = JsonSerializer.SerializeToElement(payload),
    };

    private async Task<string> SubmitAsync(BatchRequest request)
    {
        SubmitOutcome outcome = await Client.SubmitAsync(request);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
        return outcome.BatchId!;
    }

    private Task<BatchView> WaitFinishedAsync(string id, TimeSpan? interval = null) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, interval ?? TimeSpan.FromMilliseconds(100), $"batch {id} finished");

    private async Task<(BatchView View, JobPage Jobs)> RunToEndAsync(BatchRequest request)
    {
        string id = await SubmitAsync(request);
        BatchView view = await WaitFinishedAsync(id);
        var items = new List<JobResult>();
        string? token = null;
        do
        {
            JobPage page = (await Client.GetJobsAsync(id, top: 1_000, continuationToken: token))!;
            items.AddRange(page.Items);
            token = page.ContinuationToken;
        }
        while (token is not null);

        return (view, new JobPage { Items = items });
    }
}
