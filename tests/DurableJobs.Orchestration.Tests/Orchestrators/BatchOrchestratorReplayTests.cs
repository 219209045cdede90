using DurableJobs.Engine.Hosting;
using DurableJobs.Engine.Shims;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using DurableJobs.Orchestration.Schedules;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

/// <summary>
/// Replays histories of real batches and schedules through the orchestrators, without storage. They stand for
/// instances in flight when a new build is deployed: the new build must replay them, or those instances fail (or,
/// worse, go on with different chunks). Each was recorded on the embedded engine (Durable Task Core 3.11, Azure
/// Storage backend, on Azurite) with the worker's <c>TaskOrchestrationDispatcher.IncludeParameters</c> on, so each
/// scheduled activity and sub-orchestration keeps its input (production histories drop it), as
/// <c>GetOrchestrationHistoryAsync</c> returned it.
/// <para>
/// From a 0.1 build (chunk-at-a-time lanes: their inputs carry <c>maxChunksInFlight</c>, which keeps such a batch
/// chunk-at-a-time after an upgrade, see <see cref="ChunkingOptions.IsChunkAtATime"/>), one history per file, recorded by hand:
/// </para>
/// <list type="bullet">
/// <item><c>completed</c>: 30 jobs at cap 4 over 2 lanes, 0.4 s chunks, a retried job and a failing one; chunks grow
/// once durations are measured and finish out of order.</item>
/// <item><c>cancelled</c>: 10 jobs of 5 s at cap 2, cancelled after 2 s: the grace timer, chunks ending Cancelled,
/// the 8 unscheduled jobs recorded.</item>
/// <item><c>timed-out</c>: 6 jobs at cap 2 with a 3 s deadline; the deadline timer fired 0.77 s early and was
/// re-armed 48 times before it held.</item>
/// </list>
/// <para>
/// From the current build, by <c>dotnet run --project tools/RecordHistories -- tests/DurableJobs.Orchestration.Tests/Histories
/// [scenario]</c> (its own Azurite, a fresh task hub per file; each file says what ran, with which settings, and
/// holds every instance's history under <c>instances</c>):
/// </para>
/// <list type="bullet">
/// <item><c>lanes-completed</c>: 30 jobs at cap 4 over 2 lanes of 2 slots, each lane granted its next chunk ahead
/// (chunks carry <c>lane</c> and <c>sequence</c>), 0.4 s chunks, a job failing once and retried, one failing for good.</item>
/// <item><c>lanes-cancelled</c>: 10 jobs of 5 s at cap 2 (2 lanes of 1 slot, 4 chunks granted), cancelled after
/// 2 s: the grace timer, chunks ending Cancelled, the jobs never granted recorded.</item>
/// <item><c>lanes-timed-out</c>: 6 jobs of 2 s at cap 2 with a 3 s deadline: the deadline timer fired early and
/// was re-armed until it held, the running chunks stopped.</item>
/// <item><c>parts</c>: parts of at most 10 jobs, each a <c>{batchId}:part-NNNN</c> sub-orchestration answering with
/// <c>PartFinished</c>: 25 jobs in 3 parts, completed (the batch and its 3 parts); 30 jobs of 0.5 s cancelled in
/// its second part, the cancel forwarded to the part (the batch and its 2 parts).</item>
/// <item><c>delayed-start</c>: <c>startAfterSeconds</c> 2, 4 jobs, completed (the start timer re-armed while it
/// fired early); and a batch due in 60 s cancelled before its start (every job Cancelled, none run).</item>
/// <item><c>hooks</c>: 4 jobs with <c>onComplete</c> (a queue) and a next batch only on success: the batch starts
/// its <c>{batchId}:hook</c> instance (fire and forget) in its last episode; the hook's history (the queue and the next
/// batch as two attempts side by side) replays too.</item>
/// <item><c>schedule</c>: schedule <c>tick</c> every 2 s with overlap skip and a 2.5 s batch: its five executions,
/// four ending with continue-as-new (captured in the dispatcher: Azure Storage stores only the execution that
/// follows) and the last with a delete; an occurrence started, one skipped, a manual trigger.</item>
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

    [Theory]
    [InlineData("lanes-completed", "lanes-completed", 11)]
    [InlineData("lanes-cancelled", "lanes-cancelled", 4)]
    [InlineData("lanes-timed-out", "lanes-timed-out", 32)]
    [InlineData("parts", "parts-completed", 4)]
    [InlineData("parts", "parts-completed:part-0000", 6)]
    [InlineData("parts", "parts-completed:part-0001", 4)]
    [InlineData("parts", "parts-completed:part-0002", 4)]
    [InlineData("parts", "parts-cancelled", 5)]
    [InlineData("parts", "parts-cancelled:part-0000", 10)]
    [InlineData("parts", "parts-cancelled:part-0001", 8)]
    [InlineData("delayed-start", "delayed-completed", 86)]
    [InlineData("delayed-start", "delayed-cancelled", 3)]
    [InlineData("hooks", "hooks-completed", 3)]
    [InlineData("hooks", "hooks-completed:hook", 2)]
    public void RecordedInstance_ReplaysEveryEpisode_SchedulingExactlyTheRecordedActions(string file, string instanceId, int episodes)
    {
        RecordedExecution recorded = Recording(file).Single(r => r.InstanceId == instanceId);

        (int replayed, IReadOnlyList<string> differences) = HistoryReplayer.Replay(recorded.History, () => Registered(recorded.Orchestrator));

        Assert.True(differences.Count == 0, string.Join("\n", differences.Take(3)));
        Assert.Equal(episodes, replayed);
    }

    /// <summary>
    /// Each execution of the schedule's orchestration replays on its own, the ones that continued as new down to their
    /// ContinueAsNew (the state they hand on is compared too), and each execution after the first starts from the state
    /// the one before handed on.
    /// </summary>
    [Theory]
    [InlineData(0, "ContinuedAsNew", 26)]
    [InlineData(1, "ContinuedAsNew", 19)]
    [InlineData(2, "ContinuedAsNew", 21)]
    [InlineData(3, "ContinuedAsNew", 6)]
    [InlineData(4, "Completed", 2)]
    public void ScheduleExecution_ReplaysEveryEpisode_IncludingItsContinueAsNew(int execution, string ending, int episodes)
    {
        IReadOnlyList<RecordedExecution> executions = Recording("schedule");
        RecordedExecution recorded = executions[execution];

        (int replayed, IReadOnlyList<string> differences) = HistoryReplayer.Replay(recorded.History, () => Registered(recorded.Orchestrator));

        Assert.True(differences.Count == 0, string.Join("\n", differences.Take(3)));
        Assert.Equal(episodes, replayed);
        Assert.Equal(ending, recorded.Ending);
        if (execution > 0)
        {
            Assert.Equal(executions[execution - 1].Result, recorded.Input);
        }
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
    [InlineData("lanes-completed", "chunk-at-a-time instead of a chunk ahead", 0)]
    [InlineData("lanes-completed", "one lane of 4 slots instead of two of 2", 0)]
    // In a batch this small the near-the-end fair share (what is left over every lane's places) bounds the chunks from the
    // first measured one on, so only a target that makes chunks smaller than that share shows.
    [InlineData("lanes-completed", "target chunk 0.05 s instead of 0.4 s", 1)]
    [InlineData("lanes-cancelled", "grace 11 s instead of 10 s", 1)]
    [InlineData("lanes-timed-out", "deadline one second later", 0)]
    [InlineData("parts", "parts of 9 jobs instead of 10", 0)]
    [InlineData("delayed-start", "start one second later", 0)]
    public void ChangedSchedule_IsReported_AtTheFirstEpisodeThatDiffers(string history, string change, int firstDifferingEpisode)
    {
        Func<BatchOrchestrationInput, BatchOrchestrationInput> alter = change switch
        {
            "three lanes instead of two" => i => i with { Chunking = i.Chunking with { MaxChunksInFlight = 3 } },
            "target chunk 0.5 s instead of 0.4 s" => i => i with { Chunking = i.Chunking with { TargetChunkSeconds = 0.5 } },
            "target chunk 0.05 s instead of 0.4 s" => i => i with { Chunking = i.Chunking with { TargetChunkSeconds = 0.05 } },
            "grace 11 s instead of 10 s" => i => i with { StopGraceSeconds = 11 },
            "deadline one second later" => i => i with { DeadlineSeconds = i.DeadlineSeconds + 1 },
            "chunk-at-a-time instead of a chunk ahead" => i => i with { Chunking = i.Chunking with { ChunksAheadPerLane = 0 } },
            "one lane of 4 slots instead of two of 2" => i => i with { Chunking = i.Chunking with { MinLanes = 1, SlotsPerLane = 4 } },
            "parts of 9 jobs instead of 10" => i => i with { Chunking = i.Chunking with { MaxJobsPerOrchestration = 9 } },
            "start one second later" => i => i with { StartAtUtc = i.StartAtUtc?.AddSeconds(1) },
            _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
        };

        // The first instance of a file: the batch itself (its parts, if any, follow it).
        IReadOnlyList<string> differences = HistoryReplayer.Replay(Recording(history)[0].History, () => Shim(new AlteredBatchOrchestrator(alter))).Differences;

        output.WriteLine(differences.FirstOrDefault() ?? "(no difference)");
        Assert.NotEmpty(differences);
        Assert.StartsWith($"episode {firstDifferingEpisode} ", differences[0]);
    }

    /// <summary>A schedule whose cron changed (every 3 s instead of every 2 s) waits for another time: its first timer differs.</summary>
    [Fact]
    public void ScheduleWithAnotherCron_IsReported_AtItsFirstEpisode()
    {
        IReadOnlyList<string> differences = HistoryReplayer.Replay(
            Recording("schedule")[0].History,
            () => ShimSchedule(new AlteredScheduleOrchestrator(s => s with { Definition = s.Definition with { Cron = "*/3 * * * * *" } }))).Differences;

        output.WriteLine(differences.FirstOrDefault() ?? "(no difference)");
        Assert.NotEmpty(differences);
        Assert.StartsWith("episode 0 ", differences[0]);
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

    /// <summary>
    /// The executions a history file holds: a 0.1 recording is one history (a JSON array of events); a file written by
    /// <c>tools/RecordHistories</c> is an object whose <c>instances</c> each carry one under <c>history</c>.
    /// </summary>
    private static IReadOnlyList<RecordedExecution> Recording(string name)
    {
        using var reader = new JsonTextReader(new StringReader(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Histories", name + ".json"))))
        {
            DateParseHandling = DateParseHandling.None,
        };
        JToken root = JToken.Load(reader);
        IEnumerable<JArray> histories = root is JArray single ? [single] : root["instances"]!.Select(i => (JArray)i["history"]!);
        return [.. histories.Select(h => new RecordedExecution(h))];
    }

    private static string History(string name) => Recording(name).Single().History;

    /// <summary>The orchestrator registered under <paramref name="name"/>, through the engine's registry, as the engine's worker creates it.</summary>
    private static TaskOrchestration Registered(string name)
    {
        (TaskName taskName, Func<IServiceProvider, ITaskOrchestrator> factory) = Services.GetRequiredService<DurableTaskRegistry>().GetOrchestrators().Single(o => o.Key.Name == name);
        return new ShimOrchestrationCreator(taskName, factory, Shims, Services).Create();
    }

    private static TaskOrchestration Shim(ITaskOrchestrator orchestrator) =>
        new ShimOrchestrationCreator(new TaskName(BatchNames.Orchestrator), _ => orchestrator, Shims, Services).Create();

    private static TaskOrchestration ShimSchedule(ITaskOrchestrator orchestrator) =>
        new ShimOrchestrationCreator(new TaskName(ScheduleNames.Orchestrator), _ => orchestrator, Shims, Services).Create();

    /// <summary>One execution's history, with what the tests read from it.</summary>
    private sealed record RecordedExecution(JArray Events)
    {
        public string History => Events.ToString(Formatting.None);

        private JObject Started => Events.Children<JObject>().First(e => Is(e, EventType.ExecutionStarted));

        private JObject? End => Events.Children<JObject>().LastOrDefault(e => Is(e, EventType.ExecutionCompleted) || Is(e, EventType.ContinueAsNew));

        public string InstanceId => Started.SelectToken("OrchestrationInstance.InstanceId")!.Value<string>()!;

        /// <summary>The orchestrator it ran (the name it was started under).</summary>
        public string Orchestrator => Started.Value<string>("Name")!;

        public string? Input => Started.Value<string>("Input");

        public string? Result => End?.Value<string>("Result");

        public string Ending => End is { } end && Is(end, EventType.ContinueAsNew) ? "ContinuedAsNew" : ((OrchestrationStatus?)End?.Value<int>("OrchestrationStatus"))?.ToString() ?? "running";

        private static bool Is(JObject e, EventType type) => e.Value<int>("EventType") == (int)type;
    }

    private sealed class AlteredBatchOrchestrator(Func<BatchOrchestrationInput, BatchOrchestrationInput> alter) : TaskOrchestrator<BatchOrchestrationInput, BatchResult>
    {
        public override Task<BatchResult> RunAsync(TaskOrchestrationContext context, BatchOrchestrationInput input) =>
            new BatchOrchestrator().RunAsync(context, alter(input));
    }

    private sealed class AlteredScheduleOrchestrator(Func<ScheduleState, ScheduleState> alter) : TaskOrchestrator<ScheduleState, ScheduleState>
    {
        public override Task<ScheduleState> RunAsync(TaskOrchestrationContext context, ScheduleState input) =>
            new ScheduleOrchestrator().RunAsync(context, alter(input));
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
