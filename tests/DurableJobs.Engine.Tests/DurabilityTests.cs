using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
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
}
