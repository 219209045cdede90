using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Tests.Retention;

/// <summary>Delete and retention on Azurite: a deleted batch leaves nothing in any table, container or queue of its hub.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class BatchDeleteTests(EmulatorFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly ProbeJobHandler probe = new();

    [Fact]
    public async Task Delete_OfAFinishedBatchInParts_WithAnOutputBlob_ASignalAndARerun_LeavesZeroRowsBlobsAndInstances_AndAnotherBatchUntouched()
    {
        string hub = "del" + Guid.NewGuid().ToString("N")[..12];
        await using EngineHost host = await StartAsync(hub, new Dictionary<string, string?> { ["DurableJobs:Client:MaxJobsPerOrchestration"] = "10" });
        BatchClient client = host.Client;

        // 25 jobs in 3 parts; one output too large for its cell (an output blob); one failure, so a re-run exists.
        string big = new('x', 6_000);
        var jobs = Enumerable.Range(0, 25).Select(i => new JobSpec
        {
            Id = $"j{i}",
            Type = i == 7 ? "fail" : "echo",
            Payload = JsonSerializer.SerializeToElement(i == 3 ? (object)new { text = big } : new { n = i }),
        }).ToList();
        string doomed = "doomed-" + Guid.NewGuid().ToString("N")[..8];
        string kept = "kept-" + Guid.NewGuid().ToString("N")[..8];
        string cancelled = "gone-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(client, new BatchRequest { BatchId = doomed, Jobs = jobs, MaxParallel = 4 });
        await SubmitAsync(client, new BatchRequest { BatchId = kept, Jobs = jobs, MaxParallel = 4 });
        await SubmitAsync(client, new BatchRequest { BatchId = cancelled, Jobs = [new JobSpec { Id = "p", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 60_000 }) }], MaxParallel = 1 });
        await WaitFinishedAsync(client, doomed);
        await WaitFinishedAsync(client, kept);
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(cancelled).Count), n => n == 1, Patience, what: "probe job running");
        Assert.Equal(CancelOutcome.Accepted, await client.CancelAsync(cancelled));
        await WaitFinishedAsync(client, cancelled);
        RerunOutcome rerun = await client.RerunAsync(doomed);
        Assert.Equal(ControlOutcome.Accepted, rerun.Outcome);
        await WaitFinishedAsync(client, rerun.BatchId!);

        StorageCount keptBefore = await CountAsync(hub, kept);
        StorageCount doomedBefore = await CountAsync(hub, doomed);
        StorageCount cancelledBefore = await CountAsync(hub, cancelled);
        Assert.True(doomedBefore.InstanceRows >= 5, $"batch, 3 parts and a re-run: {doomedBefore}");
        Assert.True(doomedBefore.HistoryRows > 0 && doomedBefore.ResultRows > 0 && doomedBefore.JobBlobs >= 2 && doomedBefore.OutputBlobs == 1 && doomedBefore.IndexRows == 4, doomedBefore.ToString());
        // Its cancel row, and a row for its one lane (recorded finished when the probe's chunk ended).
        Assert.True(cancelledBefore.SignalRows == 2, cancelledBefore.ToString());
        Assert.True(doomedBefore.SignalRows > 0, $"lanes recorded finished: {doomedBefore}");

        Assert.Equal(DeleteOutcome.Deleted, await client.DeleteAsync(doomed));
        Assert.Equal(DeleteOutcome.Deleted, await client.DeleteAsync(cancelled));

        Assert.Equal(StorageCount.Zero, await CountAsync(hub, doomed));
        Assert.Equal(StorageCount.Zero, await CountAsync(hub, cancelled));
        Assert.Equal(keptBefore, await CountAsync(hub, kept));
        Assert.Null(await client.GetAsync(doomed));
        Assert.Null(await client.GetAsync(rerun.BatchId!));
        Assert.Equal(DeleteOutcome.NotFound, await client.DeleteAsync(doomed));
        Assert.Equal([kept], (await client.ListAsync()).Items.Select(b => b.Id));
        Assert.Equal(25, (await client.GetJobsAsync(kept, top: 100))!.Items.Count);
    }

    [Fact]
    public async Task Delete_OfABatchWithACompletionHook_PurgesTheHookInstanceToo_LeavingZero()
    {
        string hub = "delhook" + Guid.NewGuid().ToString("N")[..12];
        await using EngineHost host = await StartAsync(hub);
        string id = "hooked-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(host.Client, new BatchRequest
        {
            BatchId = id,
            Jobs = [new JobSpec { Id = "e", Type = "echo" }],
            MaxParallel = 1,
            OnComplete = new CompletionHook { Queue = "delhook-done" },
        });
        await Eventually.MatchAsync(
            () => host.Client.GetAsync(id),
            v => v?.Hooks is { Count: > 0 } hooks && hooks.All(h => h.State == DurableJobs.Orchestration.Hooks.HookStepState.Delivered),
            Patience, TimeSpan.FromMilliseconds(250), "hook delivered");
        Assert.True((await CountAsync(hub, id)).InstanceRows >= 2, "the batch's and its hook's instances");

        Assert.Equal(DeleteOutcome.Deleted, await host.Client.DeleteAsync(id));

        Assert.Equal(StorageCount.Zero, await CountAsync(hub, id));
    }

    [Fact]
    public async Task Delete_OfARunningBatch_IsRefused_AndDeletesNothing_AndAnEarlierRerunWaitsForTheLatest()
    {
        string hub = "delrun" + Guid.NewGuid().ToString("N")[..12];
        await using EngineHost host = await StartAsync(hub);
        BatchClient client = host.Client;
        string running = "run-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(client, new BatchRequest { BatchId = running, Jobs = [new JobSpec { Id = "p", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 60_000 }) }], MaxParallel = 1 });
        await Eventually.MatchAsync(() => Task.FromResult(probe.For(running).Count), n => n == 1, Patience, what: "probe job running");
        StorageCount before = await CountAsync(hub, running);

        Assert.Equal(DeleteOutcome.NotFinished, await client.DeleteAsync(running));

        Assert.Equal(before.InstanceRows, (await CountAsync(hub, running)).InstanceRows);
        Assert.Equal(before.JobBlobs, (await CountAsync(hub, running)).JobBlobs);
        Assert.Equal(BatchStatus.Running, (await client.GetAsync(running))!.Status);
        Assert.Equal(CancelOutcome.Accepted, await client.CancelAsync(running));

        // Two re-runs of a batch with a failure that fails again: the first re-run cannot go while the second exists.
        string failing = "fail-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(client, new BatchRequest { BatchId = failing, Jobs = [new JobSpec { Id = "f", Type = "fail", Payload = JsonSerializer.SerializeToElement(new { }) }], MaxParallel = 1 });
        await WaitFinishedAsync(client, failing);
        string first = (await client.RerunAsync(failing)).BatchId!;
        await WaitFinishedAsync(client, first);
        string second = (await client.RerunAsync(failing)).BatchId!;
        await WaitFinishedAsync(client, second);

        Assert.Equal(DeleteOutcome.LaterRerunExists, await client.DeleteAsync(first));
        Assert.Equal(DeleteOutcome.Deleted, await client.DeleteAsync(second));
        Assert.Equal(DeleteOutcome.Deleted, await client.DeleteAsync(first));
        Assert.Null((await client.GetAsync(failing))!.Reruns);
    }

    [Fact]
    public async Task Retention_DeletesAFinishedBatchPastItsPeriod_AndKeepsARunningOne()
    {
        string hub = "ret" + Guid.NewGuid().ToString("N")[..12];
        await using EngineHost host = await StartAsync(hub, new Dictionary<string, string?>
        {
            ["DurableJobs:Retention:CompletedAfter"] = "00:00:01",
            ["DurableJobs:Retention:FailedAfter"] = "00:00:01",
            ["DurableJobs:Retention:SweepInterval"] = "00:00:01",
        });
        BatchClient client = host.Client;
        string running = "run-" + Guid.NewGuid().ToString("N")[..8];
        string done = "done-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(client, new BatchRequest { BatchId = running, Jobs = [new JobSpec { Id = "p", Type = "probe", Payload = JsonSerializer.SerializeToElement(new { ms = 60_000 }) }], MaxParallel = 1 });
        await SubmitAsync(client, new BatchRequest { BatchId = done, Jobs = [new JobSpec { Id = "e", Type = "echo" }], MaxParallel = 1 });

        await Eventually.MatchAsync(() => client.GetAsync(done), v => v is null, Patience, TimeSpan.FromMilliseconds(500), "finished batch deleted by retention");

        Assert.Equal(StorageCount.Zero, await CountAsync(hub, done));
        BatchView? stillThere = await client.GetAsync(running);
        Assert.NotNull(stillThere);
        Assert.False(stillThere.IsFinished);
        Assert.Equal(CancelOutcome.Accepted, await client.CancelAsync(running));
    }

    [Fact]
    public async Task Retention_SweepsOnlyUnderTheLease_ABatchPastItsPeriodStaysWhileAnotherProcessHoldsIt()
    {
        string hub = "lease" + Guid.NewGuid().ToString("N")[..12];
        var container = new BlobContainerClient(fixture.Emulator.ConnectionString, $"{hub}-batches");
        await container.CreateIfNotExistsAsync();
        BlobClient blob = container.GetBlobClient(DurableJobs.Engine.Retention.RetentionSweeper.LeaseBlob);
        await blob.UploadAsync(BinaryData.Empty);
        Azure.Storage.Blobs.Specialized.BlobLeaseClient other = Azure.Storage.Blobs.Specialized.SpecializedBlobExtensions.GetBlobLeaseClient(blob);
        await other.AcquireAsync(TimeSpan.FromSeconds(-1));
        await using EngineHost host = await StartAsync(hub, new Dictionary<string, string?>
        {
            ["DurableJobs:Retention:CompletedAfter"] = "00:00:00",
            ["DurableJobs:Retention:SweepInterval"] = "00:00:00.500",
        });
        string done = "done-" + Guid.NewGuid().ToString("N")[..8];
        await SubmitAsync(host.Client, new BatchRequest { BatchId = done, Jobs = [new JobSpec { Id = "e", Type = "echo" }], MaxParallel = 1 });
        await WaitFinishedAsync(host.Client, done);

        // Several sweep intervals while the lease is held elsewhere: nothing is deleted.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.NotNull(await host.Client.GetAsync(done));

        await other.ReleaseAsync();
        await Eventually.MatchAsync(() => host.Client.GetAsync(done), v => v is null, Patience, TimeSpan.FromMilliseconds(250), "deleted once the lease is free");
    }

    [Fact]
    public async Task Retention_WithANegativePeriod_FailsTheStart_NamingTheSetting()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync("neg" + Guid.NewGuid().ToString("N")[..12], new Dictionary<string, string?>
        {
            ["DurableJobs:Retention:FailedAfter"] = "-00:00:05",
        }));

        Assert.Contains("DurableJobs:Retention:FailedAfter", ex.Message, StringComparison.Ordinal);
    }

    private Task<EngineHost> StartAsync(string hub, IDictionary<string, string?>? settings = null) =>
        EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, probe, settings);

    private static async Task SubmitAsync(BatchClient client, BatchRequest request)
    {
        SubmitOutcome outcome = await client.SubmitAsync(request);
        Assert.True(outcome.Accepted, outcome.Validation.ToString());
    }

    private static Task<BatchView> WaitFinishedAsync(BatchClient client, string id) =>
        Eventually.MatchAsync(async () => (await client.GetAsync(id))!, v => v is { IsFinished: true }, Patience, TimeSpan.FromMilliseconds(200), $"batch {id} finished");

    /// <summary>Everything of <paramref name="hub"/> that names <paramref name="batchId"/>: rows of every table, blobs of every container, queued messages.</summary>
    private async Task<StorageCount> CountAsync(string hub, string batchId)
    {
        string connection = fixture.Emulator.ConnectionString;
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        void Add(string what) => count[what] = count.GetValueOrDefault(what) + 1;

        var tables = new TableServiceClient(connection);
        await foreach (var table in tables.QueryAsync(t => true))
        {
            if (!table.Name.StartsWith(hub, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            string kind = table.Name[hub.Length..];
            await foreach (TableEntity row in tables.GetTableClient(table.Name).QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"]))
            {
                bool ours = row.PartitionKey.Contains(batchId, StringComparison.Ordinal) || row.RowKey.Contains(batchId, StringComparison.Ordinal);
                if (ours)
                {
                    Add(kind == "Results" && row.PartitionKey == "~batches" ? "Index" : kind);
                }
            }
        }

        var blobs = new BlobServiceClient(connection);
        await foreach (BlobContainerItem container in blobs.GetBlobContainersAsync(prefix: hub.ToLowerInvariant()))
        {
            await foreach (BlobItem blob in blobs.GetBlobContainerClient(container.Name).GetBlobsAsync())
            {
                if (blob.Name.Contains(batchId, StringComparison.Ordinal))
                {
                    Add(blob.Name.Contains("/outputs/", StringComparison.Ordinal) ? "Outputs" : container.Name.EndsWith("-batches", StringComparison.Ordinal) ? "Jobs" : "OtherBlobs");
                }
            }
        }

        var queues = new QueueServiceClient(connection);
        await foreach (QueueItem queue in queues.GetQueuesAsync(prefix: hub.ToLowerInvariant()))
        {
            PeekedMessage[] messages = (await queues.GetQueueClient(queue.Name).PeekMessagesAsync(32)).Value;
            foreach (PeekedMessage message in messages.Where(m => m.Body.ToString().Contains(batchId, StringComparison.Ordinal)))
            {
                Add("Queue");
            }
        }

        return new StorageCount(
            count.GetValueOrDefault("Instances"), count.GetValueOrDefault("History"), count.GetValueOrDefault("Results"), count.GetValueOrDefault("Index"),
            count.GetValueOrDefault("Signals"), count.GetValueOrDefault("Jobs"), count.GetValueOrDefault("Outputs"), count.GetValueOrDefault("OtherBlobs"), count.GetValueOrDefault("Queue"),
            count.Keys.Where(k => k is not ("Instances" or "History" or "Results" or "Index" or "Signals" or "Jobs" or "Outputs" or "OtherBlobs" or "Queue")).Sum(count.GetValueOrDefault));
    }

    private sealed record StorageCount(int InstanceRows, int HistoryRows, int ResultRows, int IndexRows, int SignalRows, int JobBlobs, int OutputBlobs, int OtherBlobs, int QueueMessages, int OtherRows)
    {
        public static readonly StorageCount Zero = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}
