using DurableJobs.Engine.Hosting;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests;

public sealed class EngineWarmUpTests
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
}
