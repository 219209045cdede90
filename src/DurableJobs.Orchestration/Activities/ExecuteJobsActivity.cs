using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Activities;

/// <summary>The job activity: runs a chunk of a batch's jobs with the channel worker pool.</summary>
internal sealed class ExecuteJobsActivity : TaskActivity<JobChunk, ChunkSummary>
{
    private readonly JobChunkExecutor executor;

    /// <summary>Creates the activity.</summary>
    public ExecuteJobsActivity(JobChunkExecutor executor)
    {
        ArgumentNullException.ThrowIfNull(executor);
        this.executor = executor;
    }

    /// <inheritdoc />
    public override Task<ChunkSummary> RunAsync(TaskActivityContext context, JobChunk input) => ExecuteAsync(input);

    /// <summary>The same work without an activity context, for hosts that bind the input themselves (Azure Functions).</summary>
    public Task<ChunkSummary> ExecuteAsync(JobChunk input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return executor.ExecuteAsync(input);
    }
}
