using System.Collections.Concurrent;
using System.Diagnostics;
using Azure;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// The engine's real batch store (Azure Storage on the emulator) with trouble a test switches on for the result
/// table: refusals as Azure answers when it throttles (503 ServerBusy) for a while from the first call, or calls that
/// hang until their caller gives up, as a store that stops answering does. The emulator can do neither.
/// </summary>
internal sealed class TroubledBatchStore(IBatchStore inner) : IBatchStore
{
    private readonly ConcurrentQueue<TimeSpan> refusals = new();
    private readonly Stopwatch sinceFirstCall = new();
    private int hanging;

    /// <summary>How long result-table calls are refused, from the first one.</summary>
    public TimeSpan ThrottleFor { get; init; }

    /// <summary>While true, result-table reads wait until their token is cancelled.</summary>
    public bool Hang { get; set; }

    /// <summary>When each refused call came, from the first call.</summary>
    public IReadOnlyCollection<TimeSpan> Refusals => refusals;

    /// <summary>Calls that hung so far.</summary>
    public int Hung => Volatile.Read(ref hanging);

    /// <summary>
    /// While true, a chunk's jobs read waits up to 2 s for the same chunk's read of its recorded results to have
    /// started, and counts whether it had (<see cref="JobsReadsBesideResultsRead"/>) or not (<see cref="JobsReadsAlone"/>).
    /// </summary>
    public bool JobsReadWaitsForResultsRead { get; init; }

    /// <summary>Jobs reads whose chunk's results read had started before they finished.</summary>
    public int JobsReadsBesideResultsRead => Volatile.Read(ref jobsReadsBeside);

    /// <summary>Jobs reads that finished without their chunk's results read having started.</summary>
    public int JobsReadsAlone => Volatile.Read(ref jobsReadsAlone);

    private readonly ConcurrentDictionary<(string BatchId, int Start), TaskCompletionSource> resultsReads = new();
    private int jobsReadsBeside;
    private int jobsReadsAlone;

    /// <summary>Replaces the engine's store in <paramref name="services"/> with <paramref name="troubled"/> wrapped around it.</summary>
    public static void Wrap(IServiceCollection services, Func<IBatchStore, TroubledBatchStore> troubled)
    {
        ServiceDescriptor engine = services.Single(d => d.ServiceType == typeof(IBatchStore));
        services.Remove(engine);
        services.AddSingleton<IBatchStore>(sp => troubled((IBatchStore)engine.ImplementationFactory!(sp)));
    }

    public Task<BatchClaim?> TryClaimAsync(string batchId, TimeSpan abandonedAfter, CancellationToken cancellationToken = default) =>
        inner.TryClaimAsync(batchId, abandonedAfter, cancellationToken);

    public Task<BatchClaim?> RenewClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default) => inner.RenewClaimAsync(claim, cancellationToken);

    public Task ReleaseClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default) => inner.ReleaseClaimAsync(claim, cancellationToken);

    public Task SaveJobsAsync(string batchId, string jobsKey, IReadOnlyList<ScheduledJob> jobs, CancellationToken cancellationToken = default) =>
        inner.SaveJobsAsync(batchId, jobsKey, jobs, cancellationToken);

    public Task SaveJobReferenceAsync(string batchId, string jobsKey, string sourceBatchId, string sourceJobsKey, IReadOnlyList<int> indices, CancellationToken cancellationToken = default) =>
        inner.SaveJobReferenceAsync(batchId, jobsKey, sourceBatchId, sourceJobsKey, indices, cancellationToken);

    public Task<IReadOnlyList<JobSpan>> ReadSpansAsync(string batchId, CancellationToken cancellationToken = default) => inner.ReadSpansAsync(batchId, cancellationToken);

    public Task DeleteBatchAsync(string batchId, CancellationToken cancellationToken = default) => inner.DeleteBatchAsync(batchId, cancellationToken);

    public Task IndexBatchAsync(string batchId, DateTimeOffset submittedAt, CancellationToken cancellationToken = default) =>
        inner.IndexBatchAsync(batchId, submittedAt, cancellationToken);

    public Task<BatchIdPage> ListBatchesAsync(int count, string? continuationToken, CancellationToken cancellationToken = default) =>
        inner.ListBatchesAsync(count, continuationToken, cancellationToken);

    public async Task<IReadOnlyList<ScheduledJob>> ReadJobsAsync(string batchId, string jobsKey, int start, int count, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ScheduledJob> jobs = await inner.ReadJobsAsync(batchId, jobsKey, start, count, cancellationToken);
        if (JobsReadWaitsForResultsRead)
        {
            Task resultsRead = ResultsRead(batchId, start).Task;
            bool beside = await Task.WhenAny(resultsRead, Task.Delay(TimeSpan.FromSeconds(2), cancellationToken)) == resultsRead;
            Interlocked.Increment(ref beside ? ref jobsReadsBeside : ref jobsReadsAlone);
        }

        return jobs;
    }

    public Task DeleteJobsAsync(string batchId, string jobsKey, CancellationToken cancellationToken = default) =>
        inner.DeleteJobsAsync(batchId, jobsKey, cancellationToken);

    public async Task<IReadOnlyDictionary<int, JobResult>> GetRecordedAsync(string batchId, int start, int count, CancellationToken cancellationToken = default)
    {
        ResultsRead(batchId, start).TrySetResult();
        if (Hang)
        {
            Interlocked.Increment(ref hanging);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        RefuseWhileThrottled();
        return await inner.GetRecordedAsync(batchId, start, count, cancellationToken);
    }

    public Task RecordAsync(string batchId, IReadOnlyList<IndexedJobResult> results, CancellationToken cancellationToken = default)
    {
        RefuseWhileThrottled();
        return inner.RecordAsync(batchId, results, cancellationToken);
    }

    public Task<ResultPage> QueryAsync(string batchId, JobStatus? status, int top, string? continuationToken, CancellationToken cancellationToken = default) =>
        inner.QueryAsync(batchId, status, top, continuationToken, cancellationToken);

    private TaskCompletionSource ResultsRead(string batchId, int start) =>
        resultsReads.GetOrAdd((batchId, start), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private void RefuseWhileThrottled()
    {
        lock (sinceFirstCall)
        {
            if (!sinceFirstCall.IsRunning)
            {
                sinceFirstCall.Start();
            }
        }

        if (sinceFirstCall.Elapsed < ThrottleFor)
        {
            refusals.Enqueue(sinceFirstCall.Elapsed);
            throw new RequestFailedException(503, "The server is busy.", "ServerBusy", null);
        }
    }
}
