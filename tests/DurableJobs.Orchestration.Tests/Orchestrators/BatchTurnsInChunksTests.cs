using DurableJobs.Engine.Hosting;
using DurableJobs.Engine.Shims;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

/// <summary>A batch's priority and tenant reach every chunk, where the job runner takes the limits in their turns.</summary>
public sealed class BatchTurnsInChunksTests
{
    private static readonly ServiceProvider Services = new ServiceCollection().AddEmbeddedEngine().BuildServiceProvider();
    private static readonly ChunkingOptions Chunking = new() { UnmeasuredAheadJobsPerSlot = ChunkingOptions.DefaultUnmeasuredAheadJobsPerSlot };

    [Fact]
    public void Every_chunk_of_a_batch_with_priority_5_and_tenant_acme_carries_them()
    {
        List<string> chunks = FirstChunks(new BatchOrchestrationInput
        {
            BatchId = "b", JobsKey = "b", JobCount = 100, MaxParallel = 10, DeadlineSeconds = 60, Priority = 5, Tenant = "acme", Chunking = Chunking,
        });
        Assert.NotEmpty(chunks);
        Assert.All(chunks, raw =>
        {
            JobChunk chunk = DurableJobsEngine.Converter.Deserialize<JobChunk>(raw)!;
            Assert.Equal((5, "acme"), (chunk.Priority, chunk.Tenant));
        });
    }

    [Fact]
    public void A_batch_without_them_schedules_chunks_without_the_fields_as_before_they_existed()
    {
        List<string> chunks = FirstChunks(new BatchOrchestrationInput { BatchId = "b", JobsKey = "b", JobCount = 100, MaxParallel = 10, DeadlineSeconds = 60, Chunking = Chunking });
        Assert.NotEmpty(chunks);
        Assert.All(chunks, raw =>
        {
            Assert.DoesNotContain("priority", raw, StringComparison.Ordinal);
            Assert.DoesNotContain("tenant", raw, StringComparison.Ordinal);
        });
    }

    /// <summary>The inputs of the chunks the orchestrator schedules in its first episode.</summary>
    private static List<string> FirstChunks(BatchOrchestrationInput input)
    {
        (TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory) = Services.GetRequiredService<DurableTaskRegistry>().GetOrchestrators().Single(o => o.Key.Name == BatchNames.Orchestrator);
        TaskOrchestration orchestration = new ShimOrchestrationCreator(name, factory, DurableJobsEngine.CreateShims(NullLoggerFactory.Instance), Services).Create();
        var state = new OrchestrationRuntimeState();
        state.AddEvent(new OrchestratorStartedEvent(-1));
        state.AddEvent(new ExecutionStartedEvent(-1, DurableJobsEngine.Converter.Serialize(input))
        {
            Name = BatchNames.Orchestrator,
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "b", ExecutionId = "e" },
        });
        OrchestratorExecutionResult result = new TaskOrchestrationExecutor(state, orchestration, BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.SerializeExceptions).Execute();

        // Durable Task passes an activity's input as a one-element JSON array.
        return result.Actions.OfType<ScheduleTaskOrchestratorAction>().Where(a => a.Name == BatchNames.ExecuteJobsActivity)
            .Select(a => a.Input ?? string.Empty).Select(raw => raw.StartsWith('[') && raw.EndsWith(']') ? raw[1..^1] : raw).ToList();
    }
}
