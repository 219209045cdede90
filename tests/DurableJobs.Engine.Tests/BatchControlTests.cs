using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>The controls of a running batch on a real engine and Azurite: the failure budget, pause and resume.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class BatchControlTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly ProbeJobHandler probe = new();
    private readonly FailOnceJobHandler failOnce = new();
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    public async Task InitializeAsync() =>
        host = await StartHostAsync("ctl" + Guid.NewGuid().ToString("N")[..12]);

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    /// <summary>
    /// 200 jobs that all fail after 1 s at cap 4, with a budget of "more than half of at least 10": the batch stops
    /// after the first chunk summaries that reach 10 finished jobs. What overshoots is what was running when the budget
    /// was judged (4) and what started while the cancel signal travelled (an activity writes it, workers poll it every
    /// 250 ms here: at most about one more job per slot), which the signal stops.
    /// </summary>
    [Fact]
    public async Task FailureBudget_AllJobsFail_BatchEndsAbortedWithTheReason_AfterAtMostTheBudgetPlusWhatWasInFlight()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 200).Select(_ => Job("slowfail", new { ms = 1_000 })), maxParallel: 4) with
        {
            AbortWhen = new AbortWhen { MinJobs = 10, FailureRate = 0.5 },
        };

        var clock = Stopwatch.StartNew();
        string id = await SubmitAsync(request);
        BatchView view = await WaitFinishedAsync(id);
        clock.Stop();

        JobPage jobs = (await Client.GetJobsAsync(id, top: 1_000))!;
        int ran = jobs.Items.Count(j => j.Attempts > 0);
        output.WriteLine($"aborted after {clock.Elapsed.TotalSeconds:0.00} s: {view.Failed} failed, {view.Cancelled} cancelled, {ran} started; reason: {view.Reason}");
        Assert.Equal(BatchStatus.Aborted, view.Status);
        Assert.StartsWith("Failure budget spent:", view.Reason, StringComparison.Ordinal);
        Assert.Equal(200, view.Failed + view.Cancelled);
        Assert.Equal(200, jobs.Items.Count);
        Assert.InRange(view.Failed, 10, 10 + 12);
        Assert.True(ran <= 10 + 12, $"{ran} jobs started");
        Assert.All(jobs.Items.Where(j => j.Status == JobStatus.Cancelled && j.Attempts == 0), j => Assert.Equal("Cancelled", j.Error!.Type));

        // Not the failures' fault alone: a budget never spent leaves the batch Completed with its failures.
        BatchRequest tolerant = Batch(Enumerable.Range(0, 12).Select(i => i % 4 == 0 ? Job("slowfail", new { ms = 10 }) : Job("delay", new { ms = 10 })), maxParallel: 4) with
        {
            AbortWhen = new AbortWhen { MinJobs = 10, FailureRate = 0.3 },
        };
        BatchView completed = await WaitFinishedAsync(await SubmitAsync(tolerant));
        Assert.Equal((BatchStatus.Completed, 3, 9, null), (completed.Status, completed.Failed, completed.Succeeded, completed.Reason));
    }

    /// <summary>
    /// 60 jobs of 300 ms at cap 3, paused after a few finished: once the chunks already granted have drained, no job
    /// starts for 5 s (checked from the start times the handlers recorded), the view says Paused, and after the resume
    /// the batch completes every job once.
    /// </summary>
    [Fact]
    public async Task Pause_HoldsFiveSecondsWithZeroStarts_ResumeCompletesEveryJobOnce()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 60).Select(_ => Job("probe", new { ms = 300 })), maxParallel: 3);
        string id = await SubmitAsync(request);
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 6, Patience, what: "six jobs started");

        var clock = Stopwatch.StartNew();
        Assert.Equal(ControlOutcome.Accepted, await Client.PauseAsync(id, "test"));
        BatchView paused = await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Paused, Patience, TimeSpan.FromMilliseconds(50), "Paused");
        TimeSpan toPaused = clock.Elapsed;
        BatchView drained = await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Paused && v.Running == 0, Patience, TimeSpan.FromMilliseconds(50), "paused and drained");
        TimeSpan toDrained = clock.Elapsed;
        DateTimeOffset quietFrom = DateTimeOffset.UtcNow;
        int startedBefore = probe.For(id).Count;

        await Task.Delay(TimeSpan.FromSeconds(5));
        BatchView stillPaused = (await Client.GetAsync(id))!;
        DateTimeOffset resumedAt = DateTimeOffset.UtcNow;
        clock.Restart();
        Assert.Equal(ControlOutcome.Accepted, await Client.ResumeAsync(id));
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n > startedBefore, Patience, TimeSpan.FromMilliseconds(20), "a start after the resume");
        TimeSpan toFirstStart = clock.Elapsed;
        BatchView view = await WaitFinishedAsync(id);

        output.WriteLine($"pause: Paused after {toPaused.TotalMilliseconds:0} ms, drained after {toDrained.TotalMilliseconds:0} ms with {drained.Succeeded} done; resume: first start after {toFirstStart.TotalMilliseconds:0} ms");
        Assert.Equal(BatchStatus.Paused, stillPaused.Status);
        Assert.Equal(drained.Succeeded, stillPaused.Succeeded);
        // Paused mid-batch: judged once drained, when every job started before the pause is recorded (at the moment of
        // Paused the view's counts may trail the handlers' own start records: a CI run read 5 with 6 started).
        Assert.InRange(drained.Succeeded, startedBefore, 59);
        Assert.True(startedBefore >= 6, $"{startedBefore} jobs started before the drain");
        Assert.DoesNotContain(probe.For(id), r => r.StartedAt >= quietFrom && r.StartedAt < resumedAt);
        Assert.Equal((BatchStatus.Completed, 60), (view.Status, view.Succeeded));
        Assert.Equal(60, probe.For(id).Count);
        Assert.Equal(60, probe.For(id).Select(r => r.JobId).Distinct().Count());
        Assert.True(Intervals.MaxOverlap(probe.For(id).Select(r => (r.StartedAt, r.EndedAt!.Value))) <= 3, "more jobs ran at once than the cap");
    }

    /// <summary>The deadline counts while paused: a batch paused with jobs left ends TimedOut at its deadline.</summary>
    [Fact]
    public async Task PausedPastItsDeadline_EndsTimedOut_TheJobsNeverStartedTimedOutWithNoAttempt()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 20).Select(_ => Job("probe", new { ms = 200 })), maxParallel: 1) with { DeadlineSeconds = 4 };
        string id = await SubmitAsync(request);
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 1, Patience, TimeSpan.FromMilliseconds(20), "a job started");
        Assert.Equal(ControlOutcome.Accepted, await Client.PauseAsync(id));

        BatchView view = await WaitFinishedAsync(id);
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        output.WriteLine($"{view.Status}: {view.Succeeded} succeeded, {view.TimedOut} timed out");
        Assert.Equal(BatchStatus.TimedOut, view.Status);
        Assert.Equal(20, view.Succeeded + view.TimedOut);
        Assert.InRange(view.TimedOut, 10, 19);
        Assert.Equal(view.TimedOut, jobs.Items.Count(j => j.Status == JobStatus.TimedOut && j.Attempts == 0));
    }

    /// <summary>A delayed batch paused before its start starts paused: no job runs until the resume.</summary>
    [Fact]
    public async Task PauseBeforeTheStart_OfADelayedBatch_HoldsItFromItsStart_UntilResumed()
    {
        BatchRequest request = Batch(Enumerable.Range(0, 6).Select(_ => Job("probe", new { ms = 50 })), maxParallel: 2) with { StartAfterSeconds = 1 };
        string id = await SubmitAsync(request);
        Assert.Equal(ControlOutcome.Accepted, await Client.PauseAsync(id));

        BatchView paused = await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Paused, Patience, TimeSpan.FromMilliseconds(50), "Paused after the start");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(probe.For(id));
        Assert.Equal(BatchStatus.Paused, (await Client.GetAsync(id))!.Status);

        Assert.Equal(ControlOutcome.Accepted, await Client.ResumeAsync(id));
        BatchView view = await WaitFinishedAsync(id);
        Assert.Equal((BatchStatus.Completed, 6, 6), (view.Status, view.Succeeded, paused.Pending));
    }

    /// <summary>A pause of a batch that has finished is refused, and so is a resume; an unknown id is not found.</summary>
    [Fact]
    public async Task PauseOrResume_OfAFinishedBatch_IsAlreadyFinished_OfAnUnknownOne_NotFound()
    {
        string id = await SubmitAsync(Batch([Job("delay", new { ms = 10 })], maxParallel: 1));
        await WaitFinishedAsync(id);

        Assert.Equal(ControlOutcome.AlreadyFinished, await Client.PauseAsync(id));
        Assert.Equal(ControlOutcome.AlreadyFinished, await Client.ResumeAsync(id));
        Assert.Equal(ControlOutcome.NotFound, await Client.PauseAsync("no-such-batch"));
    }

    /// <summary>
    /// A batch in parts of 10 (40 jobs of 200 ms at cap 2): the pause reaches the running part and the next part waits
    /// for the resume, so no job starts while paused and every job runs once.
    /// </summary>
    [Fact]
    public async Task Pause_OfABatchInParts_HoldsTheRunningPartAndTheNext_ResumeCompletes()
    {
        await using EngineHost parts = await StartHostAsync("ctp" + Guid.NewGuid().ToString("N")[..12], new Dictionary<string, string?> { ["DurableJobs:Client:MaxJobsPerOrchestration"] = "10" });
        BatchRequest request = Batch(Enumerable.Range(0, 40).Select(_ => Job("probe", new { ms = 200 })), maxParallel: 2);
        SubmitOutcome outcome = await parts.Client.SubmitAsync(request);
        string id = outcome.BatchId!;
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 12, Patience, what: "twelve jobs started (the second part)");

        Assert.Equal(ControlOutcome.Accepted, await parts.Client.PauseAsync(id));
        await Eventually.MatchAsync(async () => (await parts.Client.GetAsync(id))!, v => v.Status == BatchStatus.Paused, Patience, TimeSpan.FromMilliseconds(50), "Paused");
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).All(r => r.EndedAt is not null)), done => done, Patience, TimeSpan.FromMilliseconds(50), "running jobs finished");
        await Task.Delay(TimeSpan.FromSeconds(1));
        DateTimeOffset quietFrom = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(3));
        BatchView stillPaused = (await parts.Client.GetAsync(id))!;
        DateTimeOffset resumedAt = DateTimeOffset.UtcNow;
        Assert.Equal(ControlOutcome.Accepted, await parts.Client.ResumeAsync(id));
        BatchView view = await Eventually.MatchAsync(async () => (await parts.Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), "finished");

        output.WriteLine($"paused with {stillPaused.Succeeded} done");
        Assert.Equal(BatchStatus.Paused, stillPaused.Status);
        Assert.DoesNotContain(probe.For(id), r => r.StartedAt >= quietFrom && r.StartedAt < resumedAt);
        Assert.Equal((BatchStatus.Completed, 40), (view.Status, view.Succeeded));
        Assert.Equal(40, probe.For(id).Select(r => r.JobId).Distinct().Count());
    }

    /// <summary>
    /// 100 jobs of which 30 fail the first time they run: the re-run is a new batch <c>{id}.r1</c> of exactly those 30
    /// (same ids, read from the original's segments), each of which runs once more and succeeds; the original keeps its
    /// 30 failures and lists the re-run; a re-run of the re-run has nothing to run.
    /// </summary>
    [Fact]
    public async Task Rerun_Of30FailedOutOf100_RunsExactlyThose30_AndTheOriginalListsIt()
    {
        string id = "rerun-" + Guid.NewGuid().ToString("N")[..8];
        BatchRequest request = Batch(Enumerable.Range(0, 100).Select(i => new JobSpec { Id = $"job-{i:D3}", Type = "failonce", Payload = JsonSerializer.SerializeToElement(new { fail = i % 10 < 3 }) }), maxParallel: 8) with { BatchId = id };
        await SubmitAsync(request);
        BatchView first = await WaitFinishedAsync(id);
        Assert.Equal((BatchStatus.Completed, 70, 30), (first.Status, first.Succeeded, first.Failed));
        string[] failedIds = [.. (await Client.GetJobsAsync(id, JobStatus.Failed, top: 1_000))!.Items.Select(j => j.Id).Order(StringComparer.Ordinal)];

        var clock = Stopwatch.StartNew();
        RerunOutcome rerun = await Client.RerunAsync(id);
        TimeSpan toAccepted = clock.Elapsed;
        Assert.Equal((ControlOutcome.Accepted, id + ".r1", 30), (rerun.Outcome, rerun.BatchId, rerun.JobCount));
        BatchView second = await WaitFinishedAsync(rerun.BatchId!);
        output.WriteLine($"re-run accepted after {toAccepted.TotalMilliseconds:0} ms, finished after {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal((BatchStatus.Completed, 30, 30), (second.Status, second.Total, second.Succeeded));
        JobPage rerunJobs = (await Client.GetJobsAsync(rerun.BatchId!, top: 1_000))!;
        Assert.Equal(failedIds, rerunJobs.Items.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.Equal(130, failOnce.Runs.Count(r => r.StartsWith(id, StringComparison.Ordinal)));
        Assert.All(failedIds, job => Assert.Equal(2, failOnce.Runs.Count(r => r == $"{id}/{job}") + failOnce.Runs.Count(r => r == $"{rerun.BatchId}/{job}")));

        BatchView original = (await Client.GetAsync(id))!;
        Assert.Equal(30, original.Failed);
        Assert.Equal([id + ".r1"], original.Reruns!);
        // The latest outcome of each job across the batch and its re-runs: every job succeeded, 30 of them in r1.
        JobPage latest = (await Client.GetLatestJobsAsync(id, top: 1_000))!;
        Assert.Equal(100, latest.Items.Count(j => j.Status == JobStatus.Succeeded));
        Assert.Equal(failedIds, latest.LatestFrom!.Keys.Order(StringComparer.Ordinal));
        Assert.All(latest.LatestFrom!.Values, b => Assert.Equal(rerun.BatchId, b));
        Assert.Empty((await Client.GetLatestJobsAsync(id, JobStatus.Failed, top: 1_000))!.Items);
        Assert.Equal(30, (await Client.GetJobsAsync(id, JobStatus.Failed, top: 1_000))!.Items.Count);
        Assert.Equal(ControlOutcome.NothingToRerun, (await Client.RerunAsync(rerun.BatchId!)).Outcome);
        Assert.Equal(ControlOutcome.NotFound, (await Client.RerunAsync("no-such-batch")).Outcome);
    }

    [Fact]
    public async Task Rerun_OfARunningBatch_IsNotFinished_AndStartsNothing()
    {
        string id = await SubmitAsync(Batch([Job("probe", new { ms = 30_000 })], maxParallel: 1));

        Assert.Equal(ControlOutcome.NotFinished, (await Client.RerunAsync(id)).Outcome);
        Assert.Null(await Client.GetAsync(id + ".r1"));
        Assert.Equal(CancelOutcome.Accepted, await Client.CancelAsync(id));
    }

    /// <summary>
    /// 120 jobs of 500 ms at cap 2, raised to 8 once 6 have started: from the job timestamps, at most 2 ran at once
    /// before the change and 8 ran at once after it, never more.
    /// </summary>
    [Fact]
    public async Task Cap_RaisedFromTwoToEightMidRun_ShowsInTheOverlap_NeverMoreThanEight()
    {
        string id = await SubmitAsync(Batch(Enumerable.Range(0, 120).Select(_ => Job("probe", new { ms = 500 })), maxParallel: 2));
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 6, Patience, TimeSpan.FromMilliseconds(20), "six jobs started");

        DateTimeOffset changedAt = DateTimeOffset.UtcNow;
        Assert.Equal(ControlOutcome.Accepted, await Client.SetMaxParallelAsync(id, 8));
        BatchView view = await WaitFinishedAsync(id);

        (DateTimeOffset Start, DateTimeOffset End)[] spans = [.. probe.For(id).Select(r => (r.StartedAt, r.EndedAt!.Value))];
        int before = Intervals.MaxOverlap(spans.Where(s => s.Start < changedAt));
        DateTimeOffset firstThird = Enumerable.Range(0, spans.Length).Select(i => spans[i].Start).Where(t => t > changedAt && Running(spans, t) >= 3).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        output.WriteLine($"before the change at most {before} at once; after it {Intervals.MaxOverlap(spans)}; a third job ran {(firstThird - changedAt).TotalMilliseconds:0} ms after the call");
        Assert.Equal((BatchStatus.Completed, 120, 8), (view.Status, view.Succeeded, view.MaxParallel));
        Assert.True(before <= 2, $"{before} ran at once under cap 2");
        Assert.Equal(8, Intervals.MaxOverlap(spans));
    }

    /// <summary>
    /// 120 jobs of 300 ms at cap 8, lowered to 2 once 16 have started: jobs granted under cap 8 finish (none is stopped),
    /// then no more than 2 run at once; never more than 8.
    /// </summary>
    [Fact]
    public async Task Cap_LoweredFromEightToTwoMidRun_AtMostTwoRunOnceTheOldChunksFinished()
    {
        string id = await SubmitAsync(Batch(Enumerable.Range(0, 120).Select(_ => Job("probe", new { ms = 300 })), maxParallel: 8));
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n >= 16, Patience, TimeSpan.FromMilliseconds(20), "sixteen jobs started");

        DateTimeOffset changedAt = DateTimeOffset.UtcNow;
        Assert.Equal(ControlOutcome.Accepted, await Client.SetMaxParallelAsync(id, 2));
        BatchView view = await WaitFinishedAsync(id);

        (DateTimeOffset Start, DateTimeOffset End)[] spans = [.. probe.For(id).Select(r => (r.StartedAt, r.EndedAt!.Value))];
        DateTimeOffset lastAboveTwo = spans.Select(s => s.Start).Where(t => Running(spans, t) > 2).Max();
        TimeSpan toEffect = lastAboveTwo > changedAt ? spans.Where(s => s.Start <= lastAboveTwo).Max(s => s.End) - changedAt : TimeSpan.Zero;
        output.WriteLine($"max overlap {Intervals.MaxOverlap(spans)}; more than 2 ran until {toEffect.TotalMilliseconds:0} ms after the call; run ended {(spans.Max(s => s.End) - changedAt).TotalSeconds:0.0} s after it");
        Assert.Equal((BatchStatus.Completed, 120, 2), (view.Status, view.Succeeded, view.MaxParallel));
        Assert.True(Intervals.MaxOverlap(spans) <= 8, "more jobs ran at once than the old cap");
        Assert.True(Intervals.MaxOverlap(spans.Where(s => s.Start > changedAt + toEffect)) <= 2, "more than 2 ran after the old chunks finished");
        Assert.True(toEffect < TimeSpan.FromSeconds(5), $"the old cap held for {toEffect.TotalSeconds:0.0} s");
        Assert.True(Intervals.MaxOverlap(spans.Where(s => s.Start > changedAt.AddSeconds(5))) <= 2, "more than 2 ran 5 s after the change");
    }

    [Fact]
    public async Task Cap_OfAFinishedBatch_IsAlreadyFinished_OutsideTheLimits_Invalid()
    {
        string id = await SubmitAsync(Batch([Job("delay", new { ms = 10 })], maxParallel: 1));
        await WaitFinishedAsync(id);

        Assert.Equal(ControlOutcome.AlreadyFinished, await Client.SetMaxParallelAsync(id, 4));
        Assert.Equal(ControlOutcome.Invalid, await Client.SetMaxParallelAsync(id, 0));
        Assert.Equal(ControlOutcome.NotFound, await Client.SetMaxParallelAsync("no-such-batch", 4));
    }

    /// <summary>Jobs running at <paramref name="at"/> (started at or before it, not yet ended).</summary>
    private static int Running((DateTimeOffset Start, DateTimeOffset End)[] spans, DateTimeOffset at) =>
        spans.Count(s => s.Start <= at && s.End > at);

    /// <summary>
    /// Batches in parts of 10: a failure budget of "any failure once 15 finished" counts across parts (the first part
    /// alone never reaches 15), and a cap raised from 2 to 4 reaches the running part and the parts after it.
    /// </summary>
    [Fact]
    public async Task BatchInParts_BudgetCountsAcrossParts_AndACapChangeReachesTheRunningAndLaterParts()
    {
        await using EngineHost parts = await StartHostAsync("ctb" + Guid.NewGuid().ToString("N")[..12], new Dictionary<string, string?> { ["DurableJobs:Client:MaxJobsPerOrchestration"] = "10" });
        BatchRequest failing = Batch(Enumerable.Range(0, 50).Select(_ => Job("slowfail", new { ms = 50 })), maxParallel: 2) with
        {
            AbortWhen = new AbortWhen { MinJobs = 15, FailureRate = 0 },
        };
        string aborted = (await parts.Client.SubmitAsync(failing)).BatchId!;

        BatchRequest slow = Batch(Enumerable.Range(0, 40).Select(_ => Job("probe", new { ms = 300 })), maxParallel: 2);
        string raised = (await parts.Client.SubmitAsync(slow)).BatchId!;
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(raised).Count), n => n >= 12, Patience, TimeSpan.FromMilliseconds(20), "the second part running");
        DateTimeOffset changedAt = DateTimeOffset.UtcNow;
        Assert.Equal(ControlOutcome.Accepted, await parts.Client.SetMaxParallelAsync(raised, 4));

        BatchView budget = await Eventually.MatchAsync(async () => (await parts.Client.GetAsync(aborted))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), "aborted");
        BatchView capped = await Eventually.MatchAsync(async () => (await parts.Client.GetAsync(raised))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), "raised");
        (DateTimeOffset Start, DateTimeOffset End)[] spans = [.. probe.For(raised).Select(r => (r.StartedAt, r.EndedAt!.Value))];
        output.WriteLine($"budget: {budget.Status} with {budget.Failed} failed, {budget.Cancelled} cancelled; cap: overlap {Intervals.MaxOverlap(spans.Where(s => s.Start < changedAt))} before, {Intervals.MaxOverlap(spans)} overall");

        Assert.Equal(BatchStatus.Aborted, budget.Status);
        Assert.InRange(budget.Failed, 15, 20);
        Assert.Equal(50, budget.Failed + budget.Cancelled);
        Assert.NotNull(budget.Reason);
        Assert.Equal((BatchStatus.Completed, 40, 4), (capped.Status, capped.Succeeded, capped.MaxParallel));
        Assert.Equal(2, Intervals.MaxOverlap(spans.Where(s => s.Start < changedAt)));
        Assert.Equal(4, Intervals.MaxOverlap(spans));
        Assert.Equal(4, Assert.Single(capped.CapSteps!).To);
    }

    private Task<EngineHost> StartHostAsync(string hub, IDictionary<string, string?>? settings = null) =>
        EngineHost.StartAsync(
            fixture.Emulator.ConnectionString, hub, probe, settings,
            jobs: b => b.AddHandler("slowfail", new SlowFailJobHandler()).AddHandler("failonce", failOnce),
            configure: s => s.AddSingleton(new WorkerIdentity("ctl")));

    private static BatchRequest Batch(IEnumerable<JobSpec> jobs, int maxParallel) => new()
    {
        Jobs = jobs.ToList(),
        MaxParallel = maxParallel,
        DeadlineSeconds = 600,
    };

    private static JobSpec Job(string type, object payload) => new() { Type = type, Payload = JsonSerializer.SerializeToElement(payload) };

    private async Task<string> SubmitAsync(BatchRequest request)
    {
        SubmitOutcome outcome = await Client.SubmitAsync(request);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
        return outcome.BatchId!;
    }

    private Task<BatchView> WaitFinishedAsync(string id) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), $"batch {id} finished");

    /// <summary><c>failonce</c>: <c>{"fail": true}</c> fails the first time its job id runs, in any batch; records every run as batch/job.</summary>
    private sealed class FailOnceJobHandler : IJobHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> seen = new(StringComparer.Ordinal);
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> runs = new();

        public IReadOnlyCollection<string> Runs => runs;

        public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            runs.Enqueue($"{context.BatchId}/{context.JobId}");
            bool first = seen.AddOrUpdate(context.JobId, 1, (_, n) => n + 1) == 1;
            return first && payload.GetProperty("fail").GetBoolean()
                ? throw new InvalidOperationException("fails the first time")
                : ValueTask.FromResult<JsonElement?>(null);
        }
    }

    /// <summary><c>slowfail</c>: waits <c>{"ms": N}</c> on its token, then fails.</summary>
    private sealed class SlowFailJobHandler : IJobHandler
    {
        public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            await Task.Delay(payload.GetProperty("ms").GetInt32(), cancellationToken);
            throw new InvalidOperationException("fails on purpose");
        }
    }
}
