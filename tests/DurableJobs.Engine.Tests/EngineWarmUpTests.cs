using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Storage;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests;

[Collection(EmulatorCollection.Name)]
public sealed class EngineWarmUpTests(EmulatorFixture fixture)
{
    [Fact]
    public void The_warm_up_runs_the_registered_batch_orchestrators_first_episode_in_memory_reads_the_chunks_it_schedules_and_replays_into_the_episode_after_a_chunk_result()
    {
        using ServiceProvider services = new ServiceCollection().AddEmbeddedEngine().BuildServiceProvider();
        using var logs = new CapturedLogs();

        bool ran = DurableJobsEngine.WarmUp(services.GetRequiredService<DurableTaskRegistry>(), services, logs.CreateLogger("warm-up"));

        Assert.True(ran, string.Join(Environment.NewLine, logs.Lines.Select(l => l.Message)));
    }

    [Fact]
    public void A_warm_up_without_the_batch_orchestrator_reports_that_it_did_not_run_instead_of_throwing()
    {
        using ServiceProvider services = new ServiceCollection().AddEmbeddedEngine().BuildServiceProvider();

        Assert.False(DurableJobsEngine.WarmUp(new DurableTaskRegistry(), services, NullLogger.Instance));
    }

    [Fact]
    public async Task The_warm_up_reads_a_chunk_makes_before_its_first_job_all_answer_on_storage_and_leave_nothing_behind()
    {
        string hub = "warmup" + Guid.NewGuid().ToString("N")[..10];
        await using EngineHost host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, new ProbeJobHandler());
        using var logs = new CapturedLogs();

        int answered = await DurableJobsEngine.WarmUpReadsAsync(host.Services, logs.CreateLogger("warm-up"), CancellationToken.None);

        // The cancel row, the (missing) job segment, the recorded results, the checkpoints: a failure is logged and not
        // counted, so a read that broke (a renamed table, a missing service) shows here, not as a slower first batch.
        Assert.True(answered == 4, $"{answered} of 4 answered: {string.Join(Environment.NewLine, logs.Lines.Select(l => l.Message))}");
        Assert.Empty(await host.Services.GetRequiredService<IBatchStore>().GetRecordedAsync("warm-up", 0, 1_000));
    }
}
