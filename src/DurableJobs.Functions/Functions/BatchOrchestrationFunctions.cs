using System.Text.Json;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration;
using DurableJobs.Orchestration.Activities;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Orchestrators;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>The orchestrator and activity triggers: thin wrappers over the classes the embedded engine runs.</summary>
public sealed class BatchOrchestrationFunctions
{
    private readonly ExecuteJobsActivity executeJobs;
    private readonly RecordUnstartedActivity recordUnstarted;
    private readonly SignalCancelActivity signalCancel;

    /// <summary>
    /// Creates the functions from the app's container (Functions activates them with a public constructor; the
    /// activities are internal, so they are taken from the container rather than named here).
    /// </summary>
    public BatchOrchestrationFunctions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        executeJobs = services.GetRequiredService<ExecuteJobsActivity>();
        recordUnstarted = services.GetRequiredService<RecordUnstartedActivity>();
        signalCancel = services.GetRequiredService<SignalCancelActivity>();
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

    /// <summary>
    /// The activity that runs a chunk of jobs. Its input and output are internal wire types: the app's generated
    /// function executor calls this method directly, so it takes the JSON the orchestrator sent and returns the
    /// summary as an object (serialised by its runtime type, as a typed result would be).
    /// </summary>
    [Function(BatchNames.ExecuteJobsActivity)]
    public async Task<object> ExecuteJobs([ActivityTrigger] JsonElement chunk) =>
        await executeJobs.ExecuteAsync(Read<JobChunk>(chunk)).ConfigureAwait(false);

    /// <summary>The activity that records results for jobs a stopped batch never ran (its input as JSON, see <see cref="ExecuteJobs"/>).</summary>
    [Function(BatchNames.RecordUnstartedActivity)]
    public Task<int> RecordUnstarted([ActivityTrigger] JsonElement jobs) => recordUnstarted.ExecuteAsync(Read<UnstartedJobs>(jobs));

    /// <summary>The activity that raises a batch's cancel signal when its failure budget is spent.</summary>
    [Function(BatchNames.SignalCancelActivity)]
    public Task<bool> SignalCancel([ActivityTrigger] string batchId) => signalCancel.ExecuteAsync(batchId);

    private static T Read<T>(JsonElement input) =>
        input.Deserialize<T>(DurableJobsJson.Options) ?? throw new InvalidOperationException($"The activity input is not a {typeof(T).Name}: {input.ValueKind}.");
}
