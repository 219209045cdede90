using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using DurableJobs.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Engine.Tests;

/// <summary>Batches larger than one orchestration's share run as consecutive parts (sub-orchestrations).</summary>
[Collection(EmulatorCollection.Name)]
public sealed class BatchPartsTests(EmulatorFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly ProbeJobHandler probe = new();
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    public async Task InitializeAsync() =>
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, "parts" + Guid.NewGuid().ToString("N")[..12], probe, new Dictionary<string, string?>
        {
            ["DurableJobs:Client:MaxJobsPerOrchestration"] = "10",
            ["DurableJobs:Client:StopGrace"] = "00:00:02",
        });

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task LargeBatch_RunsInParts_EveryJobHasOneResult_InOrder_AndTheCapHolds()
    {
        string id = await SubmitAsync(35, "delay", new { ms = 50 }, maxParallel: 3, deadlineSeconds: 600);

        BatchView view = await WaitFinishedAsync(id);

        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal((35, 35), (view.Total, view.Succeeded));
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(Enumerable.Range(0, 35).Select(i => $"j{i}"), jobs.Items.Select(j => j.Id));
        Assert.InRange(Intervals.MaxOverlap(jobs.Items.Select(j => (j.StartedAt!.Value, j.FinishedAt!.Value))), 1, 3);
        Assert.Single((await Client.ListAsync()).Items, b => b.Id == id);
    }

    [Fact]
    public async Task CancelDuringAPart_StopsItAndRecordsTheLaterPartsAsCancelled()
    {
        string id = await SubmitAsync(35, "probe", new { ms = 10_000 }, maxParallel: 2, deadlineSeconds: 600);
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(id).Count), n => n == 2, Patience, what: "first part running");

        Assert.Equal(CancelOutcome.Accepted, await Client.CancelAsync(id));
        BatchView view = await WaitFinishedAsync(id);

        Assert.Equal(BatchStatus.Cancelled, view.Status);
        Assert.Equal(35, view.Cancelled);
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(35, jobs.Items.Count);
        Assert.All(jobs.Items, j => Assert.Equal(JobStatus.Cancelled, j.Status));
        Assert.Equal(2, probe.For(id).Count);
        Assert.All(probe.For(id), r => Assert.NotNull(r.CancelledAt));
    }

    [Fact]
    public async Task DeadlineDuringAPart_TimesOutTheRestOfTheBatch()
    {
        string id = await SubmitAsync(25, "probe", new { ms = 1_500 }, maxParallel: 2, deadlineSeconds: 4);

        BatchView view = await WaitFinishedAsync(id);

        Assert.Equal(BatchStatus.TimedOut, view.Status);
        Assert.Equal(25, view.Succeeded + view.TimedOut);
        Assert.InRange(view.Succeeded, 2, 6);
        JobPage jobs = (await Client.GetJobsAsync(id, status: JobStatus.TimedOut, top: 100))!;
        Assert.Equal(view.TimedOut, jobs.Items.Count);
        Assert.Contains(jobs.Items, j => j.Id == "j24" && j.Attempts == 0);
    }

    [Fact]
    public async Task APartThatNeverAnswers_DoesNotHoldTheBatchPastItsDeadline_TheRestTimesOut()
    {
        // The second part is suspended as soon as it exists, so it never reports back (as a part whose start was
        // dropped, or one stuck for any other reason, would not): the batch must still end at its deadline.
        var clock = Stopwatch.StartNew();
        string id = await SubmitAsync(30, "probe", new { ms = 1_500 }, maxParallel: 5, deadlineSeconds: 10);
        await SuspendPartAsync(id, 1);

        BatchView view = await WaitFinishedAsync(id);
        clock.Stop();

        Assert.Equal(BatchStatus.TimedOut, view.Status);
        Assert.Equal(30, view.Total);
        Assert.Equal(30, view.Succeeded + view.TimedOut);
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(30, jobs.Items.Count);
        Assert.All(jobs.Items.Skip(20), j => Assert.Equal((JobStatus.TimedOut, 0), (j.Status, j.Attempts)));

        // Deadline 10 s, then the part's own stop grace (2 s) twice over; the rest is this machine's pace.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"finished after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task CancelWhileAPartNeverAnswers_EndsTheBatchWithinTheStopGrace_NotAtItsDeadline()
    {
        string id = await SubmitAsync(30, "probe", new { ms = 1_500 }, maxParallel: 5, deadlineSeconds: 600);
        await SuspendPartAsync(id, 1);

        var clock = Stopwatch.StartNew();
        Assert.Equal(CancelOutcome.Accepted, await Client.CancelAsync(id));
        BatchView view = await WaitFinishedAsync(id);
        clock.Stop();

        Assert.Equal(BatchStatus.Cancelled, view.Status);
        Assert.Equal(30, view.Total);
        Assert.Equal(30, view.Succeeded + view.Cancelled);
        JobPage jobs = (await Client.GetJobsAsync(id, top: 100))!;
        Assert.Equal(30, jobs.Items.Count);
        Assert.All(jobs.Items.Skip(20), j => Assert.Equal((JobStatus.Cancelled, 0), (j.Status, j.Attempts)));

        // Stop grace 2 s, twice over, against a 600 s deadline.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"finished {clock.Elapsed.TotalSeconds:0.0} s after the cancel");
    }

    private async Task SuspendPartAsync(string batchId, int part)
    {
        DurableTaskClient durable = host!.Services.GetRequiredService<DurableTaskClient>();
        string partId = BatchParts.InstanceId(batchId, part);
        await Eventually.MatchAsync(() => durable.GetInstanceAsync(partId), m => m is not null, Patience, TimeSpan.FromMilliseconds(50), $"part {partId} created");
        await durable.SuspendInstanceAsync(partId, "test: a part that never answers");
        await Eventually.MatchAsync(() => durable.GetInstanceAsync(partId), m => m?.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, Patience, TimeSpan.FromMilliseconds(100), $"part {partId} suspended");
    }

    private async Task<string> SubmitAsync(int count, string type, object payload, int maxParallel, double deadlineSeconds)
    {
        SubmitOutcome outcome = await Client.SubmitAsync(new BatchRequest
        {
            Jobs = Enumerable.Range(0, count).Select(i => new JobSpec { Id = $"j{i}", Type = type, Payload = JsonSerializer.SerializeToElement(payload) }).ToList(),
            MaxParallel = maxParallel,
            DeadlineSeconds = deadlineSeconds,
        });
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
        return outcome.BatchId!;
    }

    private Task<BatchView> WaitFinishedAsync(string id) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(200), $"batch {id} finished");
}
