using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;

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
