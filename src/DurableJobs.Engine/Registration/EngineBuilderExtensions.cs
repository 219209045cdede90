using DurableJobs.Client;
using DurableJobs.Engine.Hosting;

namespace DurableJobs;

/// <summary>The embedded engine's roles on <see cref="DurableJobsBuilder"/>: run jobs in this process, or submit them.</summary>
public static class EngineBuilderExtensions
{
    /// <summary>Runs jobs in this process: the durable engine's worker, with the handlers added to the builder.</summary>
    public static DurableJobsBuilder AddWorker(this DurableJobsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.RunsWorker = true;
        builder.Services.AddEmbeddedEngine();
        return builder;
    }

    /// <summary>
    /// Adds <see cref="BatchClient"/> to submit batches, read their status and results, list and cancel them from this
    /// app's code. Without <see cref="AddWorker"/> this process runs no jobs.
    /// </summary>
    public static DurableJobsBuilder AddClient(this DurableJobsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddEmbeddedEngine();
        return builder;
    }
}
