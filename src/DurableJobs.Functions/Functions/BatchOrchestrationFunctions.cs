using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace DurableJobs.Functions.Functions;

/// <summary>The orchestrator and activity triggers: thin wrappers over the classes the embedded engine runs.</summary>
public sealed class BatchOrchestrationFunctions
{
    private readonly ExecuteJobsActivity executeJobs;
    private readonly RecordUnstartedActivity recordUnstarted;
    private readonly SignalCancelActivity signalCancel;

    /// <summary>Creates the functions.</summary>
    public BatchOrchestrationFunctions(ExecuteJobsActivity executeJobs, RecordUnstartedActivity recordUnstarted, SignalCancelActivity signalCancel)
    {
        ArgumentNullException.ThrowIfNull(executeJobs);
        ArgumentNullException.ThrowIfNull(recordUnstarted);
        ArgumentNullException.ThrowIfNull(signalCancel);
        this.executeJobs = executeJobs;
        this.recordUnstarted = recordUnstarted;
        this.signalCancel = signalCancel;
    }

    /// <summary>The batch orchestrator.</summary>
    [Function(BatchNames.Orchestrator)]
    public static Task<BatchResult> RunBatch([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new BatchOrchestrator().RunAsync(context, context.GetInput<BatchOrchestrationInput>()!);
    }

    /// <summary>A part of a batch too large for one orchestration history (the same orchestrator class).</summary>
    [Function(BatchNames.PartOrchestrator)]
    public static Task<BatchResult> RunBatchPart([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new BatchOrchestrator().RunAsync(context, context.GetInput<BatchOrchestrationInput>()!);
    }

    /// <summary>The activity that runs a chunk of jobs.</summary>
    [Function(BatchNames.ExecuteJobsActivity)]
    public Task<ChunkSummary> ExecuteJobs([ActivityTrigger] JobChunk chunk) => executeJobs.ExecuteAsync(chunk);

    /// <summary>The activity that records results for jobs a stopped batch never ran.</summary>
    [Function(BatchNames.RecordUnstartedActivity)]
    public Task<int> RecordUnstarted([ActivityTrigger] UnstartedJobs jobs) => recordUnstarted.ExecuteAsync(jobs);

    /// <summary>The activity that raises a batch's cancel signal when its failure budget is spent.</summary>
    [Function(BatchNames.SignalCancelActivity)]
    public Task<bool> SignalCancel([ActivityTrigger] string batchId) => signalCancel.ExecuteAsync(batchId);
}
