using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>One submission claims a new batch id; the claim of a submission that stopped or failed does not block the id.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class SubmissionClaimTests(EmulatorFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(3);
    private readonly string hub = "claim" + Guid.NewGuid().ToString("N")[..12];
    private EngineHost? host;

    private BatchClient Client => host!.Client;

    private IBatchStore Store => host!.Services.GetRequiredService<IBatchStore>();

    public async Task InitializeAsync() =>
        host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), new Dictionary<string, string?>
        {
            ["DurableJobs:Client:ClaimTimeout"] = ClaimTimeout.ToString(),
        });

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwentyConcurrentSubmits_OfOneNewId_WithTwoBodies_OneStartsTheBatch_NineteenAnswerExisting_OneJobSetStored()
    {
        const string id = "raced";
        BatchRequest[] bodies = [Batch(id, 6), Batch(id, 4)];

        SubmitOutcome[] outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => Client.SubmitAsync(bodies[i % 2]))));

        int[] started = Enumerable.Range(0, 20).Where(i => !outcomes[i].AlreadyExisted).ToArray();
        output.WriteLine($"started by submissions {string.Join(", ", started)}");
        Assert.All(outcomes, o => Assert.True(o.Accepted));
        int winner = Assert.Single(started);
        BatchView view = await WaitFinishedAsync(id);
        Assert.Equal((BatchStatus.Completed, bodies[winner % 2].Jobs!.Count), (view.Status, view.Succeeded));
        Assert.Single(await JobKeysAsync(id));
    }

    [Fact]
    public async Task AClaimWhoseSubmitterStopped_IsTakenOverAfterTheClaimTimeout_TheBatchStarts_AndTheStoppedSubmissionsJobsAreDeleted()
    {
        const string id = "orphaned-claim";

        // A submitter that claimed the id and stored its jobs, then stopped before starting the batch.
        BatchClaim stopped = (await Store.TryClaimAsync(id, TimeSpan.FromMinutes(1)))!;
        await Store.SaveJobsAsync(id, stopped.JobsKey, [new ScheduledJob(0, "orphan", "echo", null)]);

        var clock = Stopwatch.StartNew();
        SubmitOutcome outcome = await Client.SubmitAsync(Batch(id, 3));
        clock.Stop();
        output.WriteLine($"started after {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.True(outcome.Accepted);
        Assert.False(outcome.AlreadyExisted);
        Assert.InRange(clock.Elapsed, ClaimTimeout - TimeSpan.FromSeconds(1), Patience);
        BatchView view = await WaitFinishedAsync(id);
        Assert.Equal((BatchStatus.Completed, 3, 3), (view.Status, view.Total, view.Succeeded));
        List<string> keys = await JobKeysAsync(id);
        Assert.DoesNotContain(stopped.JobsKey, keys);
        Assert.Single(keys);
    }

    [Fact]
    public async Task ASubmissionThatFailsAfterStoringJobs_LeavesNoJobs_AndReleasesTheId_ARetryStartsTheBatchAtOnce()
    {
        const string id = "failed-submit";
        var options = new BatchClientOptions { ClaimTimeout = TimeSpan.FromMinutes(10) };
        BatchClient failing = ClientOver(new FailingSave(Store), options);

        await Assert.ThrowsAsync<IOException>(() => failing.SubmitAsync(Batch(id, 2_500)));

        Assert.Empty(await JobKeysAsync(id));
        Assert.Null(await Client.GetAsync(id));
        var clock = Stopwatch.StartNew();
        SubmitOutcome retry = await ClientOver(Store, options).SubmitAsync(Batch(id, 3));
        clock.Stop();
        Assert.False(retry.AlreadyExisted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the retry took {clock.Elapsed.TotalSeconds:0.0} s: it waited for the failed submission's claim");
        BatchView view = await WaitFinishedAsync(id);
        Assert.Equal((BatchStatus.Completed, 3), (view.Status, view.Succeeded));
    }

    private static BatchRequest Batch(string id, int jobs) => new()
    {
        BatchId = id,
        Jobs = Enumerable.Range(0, jobs).Select(i => new JobSpec { Id = $"j{i}", Type = "echo" }).ToList(),
        MaxParallel = 4,
        DeadlineSeconds = 600,
    };

    private BatchClient ClientOver(IBatchStore store, BatchClientOptions options) => new(
        host!.Services.GetRequiredService<DurableTaskClient>(),
        host.Services.GetRequiredService<IBatchCancellationSignals>(),
        store,
        host.Services.GetRequiredService<BatchValidator>(),
        host.Services.GetRequiredService<BatchLimits>(),
        options);

    private Task<BatchView> WaitFinishedAsync(string id) =>
        Eventually.MatchAsync(async () => (await Client.GetAsync(id))!, v => v?.IsFinished == true, Patience, TimeSpan.FromMilliseconds(200), $"batch {id} finished");

    /// <summary>The distinct job sets stored under <paramref name="batchId"/> (blobs are named batch/jobsKey/segment).</summary>
    private async Task<List<string>> JobKeysAsync(string batchId)
    {
        var container = new BlobContainerClient(fixture.Emulator.ConnectionString, hub.ToLowerInvariant() + "-batches");
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, batchId + "/", CancellationToken.None))
        {
            keys.Add(blob.Name.Split('/')[1]);
        }

        return [.. keys];
    }

    /// <summary>Storage that fails once a submission's jobs are written, as an outage in the middle of a submission does.</summary>
    private sealed class FailingSave(IBatchStore inner) : IBatchStore
    {
        public Task<BatchClaim?> TryClaimAsync(string batchId, TimeSpan abandonedAfter, CancellationToken cancellationToken = default) => inner.TryClaimAsync(batchId, abandonedAfter, cancellationToken);

        public Task<BatchClaim?> RenewClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default) => inner.RenewClaimAsync(claim, cancellationToken);

        public Task ReleaseClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default) => inner.ReleaseClaimAsync(claim, cancellationToken);

        public async Task SaveJobsAsync(string batchId, string jobsKey, IReadOnlyList<ScheduledJob> jobs, CancellationToken cancellationToken = default)
        {
            await inner.SaveJobsAsync(batchId, jobsKey, jobs, cancellationToken);
            throw new IOException("storage went away after the jobs were written");
        }

        public Task<IReadOnlyList<ScheduledJob>> ReadJobsAsync(string batchId, string jobsKey, int start, int count, CancellationToken cancellationToken = default) => inner.ReadJobsAsync(batchId, jobsKey, start, count, cancellationToken);

        public Task SaveJobReferenceAsync(string batchId, string jobsKey, string sourceBatchId, string sourceJobsKey, IReadOnlyList<int> indices, CancellationToken cancellationToken = default) =>
            inner.SaveJobReferenceAsync(batchId, jobsKey, sourceBatchId, sourceJobsKey, indices, cancellationToken);

        public Task DeleteJobsAsync(string batchId, string jobsKey, CancellationToken cancellationToken = default) => inner.DeleteJobsAsync(batchId, jobsKey, cancellationToken);

        public Task DeleteBatchAsync(string batchId, CancellationToken cancellationToken = default) => inner.DeleteBatchAsync(batchId, cancellationToken);

        public Task<IReadOnlyDictionary<int, JobResult>> GetRecordedAsync(string batchId, int start, int count, CancellationToken cancellationToken = default) => inner.GetRecordedAsync(batchId, start, count, cancellationToken);

        public Task RecordAsync(string batchId, IReadOnlyList<IndexedJobResult> results, CancellationToken cancellationToken = default) => inner.RecordAsync(batchId, results, cancellationToken);

        public Task<ResultPage> QueryAsync(string batchId, JobStatus? status, int top, string? continuationToken, CancellationToken cancellationToken = default) => inner.QueryAsync(batchId, status, top, continuationToken, cancellationToken);

        public Task<IReadOnlyList<JobSpan>> ReadSpansAsync(string batchId, CancellationToken cancellationToken = default) => inner.ReadSpansAsync(batchId, cancellationToken);

        public Task IndexBatchAsync(string batchId, DateTimeOffset submittedAt, CancellationToken cancellationToken = default) => inner.IndexBatchAsync(batchId, submittedAt, cancellationToken);

        public Task<BatchIdPage> ListBatchesAsync(int count, string? continuationToken, CancellationToken cancellationToken = default) => inner.ListBatchesAsync(count, continuationToken, cancellationToken);
    }
}
