using DurableJobs.Engine.Hosting;
using DurableJobs.Engine.Shims;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

/// <summary>
/// Replays histories of real batches through the orchestrator, without storage. The histories in <c>Histories/</c>
/// were recorded once by running these batches on the embedded engine (<c>EngineHost</c> of the engine tests, on
/// Azurite: Durable Task Core 3.11, Azure Storage backend) with the worker's
/// <c>TaskOrchestrationDispatcher.IncludeParameters</c> on, so each scheduled activity and sub-orchestration keeps its
/// input (production histories drop it), and saving what <c>GetOrchestrationHistoryAsync</c> returned. They stand for
/// instances in flight when a new build is deployed: the new build must replay them, or those instances fail (or, worse,
/// go on with different chunks).
/// <list type="bullet">
/// <item><c>completed</c>: 30 jobs at cap 4 over 2 lanes, 0.4 s chunks, a retried job and a failing one; chunks grow
/// once durations are measured and finish out of order.</item>
/// <item><c>cancelled</c>: 10 jobs of 5 s at cap 2, cancelled after 2 s: the grace timer, chunks ending Cancelled,
/// the 8 unscheduled jobs recorded.</item>
/// <item><c>timed-out</c>: 6 jobs at cap 2 with a 3 s deadline; the deadline timer fired 0.77 s early and was
/// re-armed 48 times before it held.</item>
/// </list>
/// These tests are stricter than Durable Task, which compares only the kind and name of each action: a deliberate
/// change to what the orchestrator schedules (a chunk size, a timer's time) fails them too. Then check that the old
/// histories still replay without a "complete Failed Non-Deterministic" episode (instances started before the change
/// will replay them), and record new ones.
/// </summary>
public sealed class BatchOrchestratorReplayTests(ITestOutputHelper output)
{
    private static readonly ServiceProvider Services = new ServiceCollection().AddEmbeddedEngine().BuildServiceProvider();
    private static readonly DurableTaskShimFactory Shims = DurableJobsEngine.CreateShims(NullLoggerFactory.Instance);

    [Theory]
    [InlineData("completed", 8)]
    [InlineData("cancelled", 4)]
    [InlineData("timed-out", 55)]
    public void RecordedHistory_ReplaysEveryEpisode_SchedulingExactlyTheRecordedActions(string history, int episodes)
    {
        (int replayed, IReadOnlyList<string> differences) = HistoryReplayer.Replay(History(history), () => Registered(BatchNames.Orchestrator));

        Assert.True(differences.Count == 0, string.Join("\n", differences.Take(3)));
        Assert.Equal(episodes, replayed);
    }

    /// <summary>
    /// The orchestrator as a later build might behave: the same code with one option changed (as if its default or
    /// the planner's rule had changed). The replay must notice, at the episode where the schedule first differs.
    /// </summary>
    [Theory]
    [InlineData("completed", "three lanes instead of two", 0)]
    [InlineData("completed", "target chunk 0.5 s instead of 0.4 s", 1)]
    [InlineData("cancelled", "grace 11 s instead of 10 s", 1)]
    [InlineData("timed-out", "deadline one second later", 0)]
    public void ChangedSchedule_IsReported_AtTheFirstEpisodeThatDiffers(string history, string change, int firstDifferingEpisode)
    {
        Func<BatchOrchestrationInput, BatchOrchestrationInput> alter = change switch
        {
            "three lanes instead of two" => i => i with { Chunking = i.Chunking with { MaxChunksInFlight = 3 } },
            "target chunk 0.5 s instead of 0.4 s" => i => i with { Chunking = i.Chunking with { TargetChunkSeconds = 0.5 } },
            "grace 11 s instead of 10 s" => i => i with { StopGraceSeconds = 11 },
            "deadline one second later" => i => i with { DeadlineSeconds = i.DeadlineSeconds + 1 },
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
        };

        IReadOnlyList<string> differences = HistoryReplayer.Replay(History(history), () => Shim(new AlteredBatchOrchestrator(alter))).Differences;

        output.WriteLine(differences.FirstOrDefault() ?? "(no difference)");
        Assert.NotEmpty(differences);
        Assert.StartsWith($"episode {firstDifferingEpisode} ", differences[0]);
    }

    /// <summary>
    /// A build that calls one activity before the batch's own work shifts every sequence number. From the second
    /// episode on, Durable Task's own check fails the orchestration: the history's first action was a timer, the
    /// replay's is an activity call.
    /// </summary>
    [Fact]
    public void ActivityCalledBeforeTheBatch_DurableTaskFailsTheReplayAsNonDeterministic()
    {
        IReadOnlyList<string> differences = HistoryReplayer.Replay(History("completed"), () => Shim(new RecordsBeforeRunning())).Differences;

        output.WriteLine(string.Join("\n", differences.Take(2)));
        Assert.StartsWith("episode 0 ", differences[0]);
        Assert.Contains(differences, d => d.StartsWith("episode 1 ", StringComparison.Ordinal) && d.Contains("complete Failed Non-Deterministic workflow detected", StringComparison.Ordinal));
    }

    private static string History(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Histories", name + ".json"));

    /// <summary>The orchestrator registered under <paramref name="name"/>, through the engine's registry, as the engine's worker creates it.</summary>
    private static TaskOrchestration Registered(string name)
    {
        (TaskName taskName, Func<IServiceProvider, ITaskOrchestrator> factory) = Services.GetRequiredService<DurableTaskRegistry>().GetOrchestrators().Single(o => o.Key.Name == name);
        return new ShimOrchestrationCreator(taskName, factory, Shims, Services).Create();
    }

    private static TaskOrchestration Shim(ITaskOrchestrator orchestrator) =>
        new ShimOrchestrationCreator(new TaskName(BatchNames.Orchestrator), _ => orchestrator, Shims, Services).Create();

    private sealed class AlteredBatchOrchestrator(Func<BatchOrchestrationInput, BatchOrchestrationInput> alter) : TaskOrchestrator<BatchOrchestrationInput, BatchResult>
    {
        public override Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input) =>
            new BatchOrchestrator().RunAsync(context, alter(input));
    }

    private sealed class RecordsBeforeRunning : TaskOrchestrator<BatchOrchestrationInput, BatchResult>
    {
        public override async Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input)
        {
            await context.CallActivityAsync<int>(BatchNames.RecordUnstartedActivity, new UnstartedJobs
            {
                BatchId = input.BatchId,
                JobsKey = input.JobsKey,
                Ranges = [],
                Status = Core.Model.JobStatus.TimedOut,
                StoppedAtUtc = context.CurrentUtcDateTime,
            });
            return await new BatchOrchestrator().RunAsync(context, input);
        }
    }
}
