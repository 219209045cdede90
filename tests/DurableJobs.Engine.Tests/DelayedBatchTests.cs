using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>Delayed batches (<c>startAt</c>, <c>startAfterSeconds</c>) on the embedded engine and a real Azurite.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class DelayedBatchTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // As DurabilityTests: a stopped worker's leases and messages come back within seconds, not minutes.
    private static readonly Dictionary<string, string?> FastFailover = new()
    {
        ["DurableJobs:LeaseInterval"] = "00:00:05",
        ["DurableJobs:LeaseRenewInterval"] = "00:00:01",
        ["DurableJobs:LeaseAcquireInterval"] = "00:00:01",
        ["DurableJobs:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["DurableJobs:ControlQueueVisibilityTimeout"] = "00:00:10",
    };

    private readonly ProbeJobHandler probe = new();
    private readonly string hub = "delay" + Guid.NewGuid().ToString("N")[..12];
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    public async Task InitializeAsync() => host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task StartAfterFourSeconds_IsScheduledAtOnce_StartsNoEarlierThanItsTime_AndItsTwoSecondDeadlineCountsFromTheStart()
    {
        // A 2 s deadline counted from the submission would have passed before the start: the 500 ms job would time out.
        BatchRequest request = Batch(Job("probe", new { ms = 500 }), deadlineSeconds: 2) with { StartAfterSeconds = 4 };
        DateTimeOffset submitted = DateTimeOffset.UtcNow;
        string id = await SubmitAsync(request);

        BatchView scheduled = (await Client.GetAsync(id))!;
        Assert.Equal(BatchStatus.Scheduled, scheduled.Status);
        Assert.NotNull(scheduled.StartAt);
        Assert.InRange(scheduled.StartAt!.Value, submitted.AddSeconds(4), submitted.AddSeconds(5));
        Assert.Equal(1, scheduled.Pending);

        BatchView view = await WaitFinishedAsync(id);
        ProbeRecord run = Assert.Single(probe.For(id));
        output.WriteLine($"start at {scheduled.StartAt:O}, first job at {run.StartedAt:O}: {(run.StartedAt - scheduled.StartAt!.Value).TotalMilliseconds:0} ms late");
        Assert.Equal(BatchStatus.Completed, view.Status);
        Assert.Equal(1, view.Succeeded);
        Assert.Null(view.StartAt);
        Assert.True(run.StartedAt >= scheduled.StartAt!.Value.AddMilliseconds(-50), $"started {run.StartedAt:O}, before {scheduled.StartAt:O}");
        Assert.True(run.StartedAt - scheduled.StartAt!.Value < TimeSpan.FromSeconds(3), $"started {(run.StartedAt - scheduled.StartAt!.Value).TotalSeconds:0.0} s late");
    }

    [Fact]
    public async Task CancelBeforeTheStart_EndsCancelled_EveryJobCancelledWithNoAttempt_NoneRun()
    {
        BatchRequest request = Batch([Job("probe", new { ms = 100 }, "a"), Job("probe", new { ms = 100 }, "b"), Job("probe", new { ms = 100 }, "c")], deadlineSeconds: 60)
            with { StartAt = DateTimeOffset.UtcNow.AddMinutes(10) };
        string id = await SubmitAsync(request);
        await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Scheduled, Patience, TimeSpan.FromMilliseconds(100), "scheduled");

        Assert.Equal(CancelOutcome.Accepted, await Client.CancelAsync(id, "not tonight"));
        BatchView view = await WaitFinishedAsync(id);

        Assert.Equal(BatchStatus.Cancelled, view.Status);
        Assert.Equal(3, view.Cancelled);
        JobPage jobs = (await Client.GetJobsAsync(id))!;
        Assert.Equal(3, jobs.Items.Count);
        Assert.All(jobs.Items, j => Assert.Equal((JobStatus.Cancelled, 0), (j.Status, j.Attempts)));
        Assert.Empty(probe.For(id));
    }

    [Fact]
    public async Task EveryWorkerStoppedWhileScheduled_ANewWorkerStartsTheBatchOnTime()
    {
        BatchRequest request = Batch(Job("probe", new { ms = 100 }), deadlineSeconds: 30) with { StartAfterSeconds = 6 };
        string id = await SubmitAsync(request);
        BatchView scheduled = await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.Status == BatchStatus.Scheduled && v.StartAt is not null, Patience, TimeSpan.FromMilliseconds(100), "scheduled");

        // Once a worker has run it, the start is a durable timer (a message in storage), which is what must survive.
        await Eventually.MatchAsync(async () => (await Client.GetAsync(id))!.LastUpdatedAt, t => t > scheduled.CreatedAt, Patience, TimeSpan.FromMilliseconds(100), "first episode ran");
        await host!.StopAsync();
        host = null;

        // Nothing runs the hub for a while; then a new process (a new worker identity's engine) takes over.
        await Task.Delay(TimeSpan.FromSeconds(2));
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, FastFailover);
        BatchView view = await WaitFinishedAsync(id);

        Assert.Equal(BatchStatus.Completed, view.Status);
        ProbeRecord run = Assert.Single(probe.For(id));
        double late = (run.StartedAt - scheduled.StartAt!.Value).TotalSeconds;
        output.WriteLine($"started {late:0.00} s after its start time, after a restart");
        Assert.InRange(late, -0.05, 5);
    }

    private static BatchRequest Batch(JobSpec job, double deadlineSeconds) => Batch([job], deadlineSeconds);

    private static BatchRequest Batch(IReadOnlyList<JobSpec> jobs, double deadlineSeconds) => new()
    {
        Jobs = jobs,
        MaxParallel = 4,
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

    private Task<BatchView> WaitFinishedAsync(string id) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(100), $"batch {id} finished");
}
