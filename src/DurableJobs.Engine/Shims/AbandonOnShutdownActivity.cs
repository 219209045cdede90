using DurableJobs.Orchestration.Execution;
using DurableTask.Core;
using DurableTask.Core.Exceptions;

namespace DurableJobs.Engine.Shims;

/// <summary>
/// Turns <see cref="WorkerShuttingDownException"/> into Durable Task Core's "abort this execution", which
/// abandons the work item: the chunk goes back to the queue for the next live worker rather than being
/// recorded as a failure in the batch's history.
/// </summary>
internal sealed class AbandonOnShutdownActivity(TaskActivity inner) : TaskActivity
{
    public override string Run(TaskContext context, string input) => throw new NotSupportedException("Only the asynchronous path is used.");

    public override async Task<string> RunAsync(TaskContext context, string input)
    {
        try
        {
            return await inner.RunAsync(context, input).ConfigureAwait(false);
        }
        catch (WorkerShuttingDownException ex)
        {
            throw new SessionAbortedException(ex.Message);
        }
    }
}
