using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Pool;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Runs a chunk of jobs through the Core channel worker pool at the chunk's parallelism, so the slots the
/// orchestrator granted are never exceeded. Each job's token links the batch deadline, the batch cancel
/// signal and host shutdown.
/// </summary>
public sealed class JobChunkExecutor
{
    private readonly JobRunner runner;
    private readonly IBatchCancellationSignals signals;
    private readonly JobExecutionOptions options;

    /// <summary>Creates the executor.</summary>
    public JobChunkExecutor(
        JobHandlerRegistry handlers,
        IBatchCancellationSignals signals,
        WorkerIdentity worker,
        JobExecutionOptions options,
        ILogger<JobChunkExecutor> logger)
    {
        ArgumentNullException.ThrowIfNull(handlers);
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        this.signals = signals;
        this.options = options;
        runner = new JobRunner(handlers, worker, options.TimeProvider, logger);
    }

    /// <summary>Runs every job of <paramref name="chunk"/> to a final result.</summary>
    /// <exception cref="WorkerShuttingDownException">The host is stopping; the chunk must be delivered again.</exception>
    public async Task<JobChunkResult> ExecuteAsync(JobChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        using IBatchCancellationWatch watch = await signals.WatchAsync(chunk.BatchId, options.HostStopping).ConfigureAwait(false);
        using var stop = new JobStopSignals(chunk.DeadlineUtc, watch.Token, options.HostStopping, options.TimeProvider);

        var results = new JobResult[chunk.Jobs.Count];
        var indexed = chunk.Jobs.Select((job, position) => (job, position));
        try
        {
            // The pool's parent is host shutdown only: a deadline or cancel must still yield a result per job
            // (TimedOut / Cancelled), which the runner produces without starting the handler.
            await foreach ((int position, JobResult result) in WorkerPool.ProcessAsync(
                indexed,
                async (item, _) => (item.position, await runner.RunAsync(chunk.BatchId, item.job, chunk.Retry, stop).ConfigureAwait(false)),
                new WorkerPoolOptions { WorkerCount = Math.Clamp(chunk.Parallelism, 1, Math.Max(1, chunk.Jobs.Count)) },
                options.HostStopping).ConfigureAwait(false))
            {
                results[position] = result;
            }
        }
        catch (OperationCanceledException ex) when (options.HostStopping.IsCancellationRequested && ex is not WorkerShuttingDownException)
        {
            throw new WorkerShuttingDownException("The worker stopped while running a chunk; it will be delivered again.", ex);
        }

        return new JobChunkResult { Results = results };
    }
}
