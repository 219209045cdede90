using Azure;
using Azure.Data.Tables;
using DurableJobs.Orchestration.Signals;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Signals;

/// <summary>
/// Batch signals in an Azure Storage table shared by every process of the task hub, one partition per batch: the
/// client writes the cancel row, a worker writes a lane's row when the lane's chunks have finished there, and each
/// worker polls the partitions of the batches it is running. One poll loop per process, started on the first watch and
/// stopped on dispose, so nothing outlives its owner.
/// </summary>
internal sealed class TableBatchCancellationSignals : IBatchCancellationSignals, IAsyncDisposable
{
    private const string CancelRowKey = "cancel";

    /// <summary>A lane's row: this prefix and the lane id (digits and a dot), with the submission and the sequence finished through.</summary>
    private const string LaneRowPrefix = "lane-";

    /// <summary>How often the partitions are polled while a chunk here waits for a lane's row (a handover is a slot idle meanwhile).</summary>
    private static readonly TimeSpan HandoverPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Batches polled with one query: a table filter allows at most 15 comparisons.</summary>
    internal const int BatchesPerQuery = 15;

    /// <summary>The longest wait between poll rounds while storage fails: a cancel still lands within it once storage is back.</summary>
    private static readonly TimeSpan MaxPollBackoff = TimeSpan.FromSeconds(5);

    private readonly TableClient table;
    private readonly TimeSpan pollInterval;
    private readonly ILogger logger;
    private readonly Dictionary<string, WatchedBatch> watched = new(StringComparer.Ordinal);
    private readonly Lock watchedLock = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock startLock = new();

    /// <summary>Released to cut the poll loop's wait short (a chunk started waiting for a lane's row).</summary>
    private readonly SemaphoreSlim pollNow = new(0);
    private Task? pollLoop;
    private volatile bool tableReady;

    /// <summary>Creates the signals over <paramref name="table"/>.</summary>
    public TableBatchCancellationSignals(TableClient table, TimeSpan pollInterval, ILogger<TableBatchCancellationSignals> logger)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(logger);
        this.table = table;
        this.pollInterval = pollInterval;
        this.logger = logger;
    }

    /// <inheritdoc />
    public async Task SignalCancelAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await table.UpsertEntityAsync(new TableEntity(batchId, CancelRowKey), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

        // A watcher in this very process need not wait for its next poll.
        ApplyLocally(batchId, local => local.Cancel());
    }

    /// <inheritdoc />
    public async Task LaneFinishedAsync(string batchId, string jobsKey, string lane, int sequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var row = new TableEntity(batchId, LaneRowPrefix + lane) { ["JobsKey"] = jobsKey, ["Through"] = sequence };
        await table.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        ApplyLocally(batchId, local => local.Lanes.Record(jobsKey, lane, sequence));
    }

    /// <inheritdoc />
    public async Task ForgetAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);

        // Every row of the batch's partition, not only the cancel row: a later signal kind needs no change here.
        await foreach (TableEntity row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {batchId}"), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IBatchCancellationWatch> WatchAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        WatchedBatch batch;
        lock (watchedLock)
        {
            if (watched.TryGetValue(batchId, out WatchedBatch? existing))
            {
                batch = existing.AddRef();
            }
            else
            {
                batch = new WatchedBatch();
                watched.Add(batchId, batch);
            }
        }

        var lease = new Lease(this, batchId, batch);
        try
        {
            if (!batch.IsCancelled && await IsSignalledAsync(batchId, cancellationToken).ConfigureAwait(false))
            {
                batch.Cancel();
            }
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        EnsurePolling();
        return lease;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        if (pollLoop is not null)
        {
            await pollLoop.ConfigureAwait(false);
        }

        stopping.Dispose();
        pollNow.Dispose();
    }

    private void Release(string batchId, WatchedBatch batch)
    {
        lock (watchedLock)
        {
            if (batch.Release())
            {
                watched.Remove(batchId);
                batch.Dispose();
            }
        }
    }

    private void EnsurePolling()
    {
        if (pollLoop is not null)
        {
            return;
        }

        lock (startLock)
        {
            pollLoop ??= Task.Run(() => PollAsync(stopping.Token));
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        // The loop outlives any failure: storage down for longer than the SDK's own retries surfaces as an
        // AggregateException, not a RequestFailedException, and a loop that died of it would leave every later cancel
        // unseen by this process for good. A failed round backs off (doubling, at most MaxPollBackoff) so an outage
        // costs a few requests, not one per batch per interval; the first success returns to the normal interval.
        TimeSpan delay = pollInterval;
        int failedRounds = 0;
        try
        {
            while (true)
            {
                try
                {
                    await PollOnceAsync(cancellationToken).ConfigureAwait(false);
                    if (failedRounds > 0)
                    {
                        logger.LogInformation("Cancel signals readable again after {Rounds} failed rounds", failedRounds);
                    }

                    failedRounds = 0;
                    delay = pollInterval;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    // Warn once per outage; the rounds after it are the same story.
                    failedRounds++;
                    logger.Log(failedRounds == 1 ? LogLevel.Warning : LogLevel.Debug, ex, "Could not read batch cancel signals (round {Rounds}); retrying in {Delay}", failedRounds, delay);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Math.Max(pollInterval.Ticks, MaxPollBackoff.Ticks)));
                }

                await pollNow.WaitAsync(failedRounds == 0 && AnyLaneWaiter() ? HandoverPollInterval : delay, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>Applies a signal just written to this process's watch of <paramref name="batchId"/>, if any, without waiting for the poll.</summary>
    private void ApplyLocally(string batchId, Action<WatchedBatch> apply)
    {
        lock (watchedLock)
        {
            if (watched.TryGetValue(batchId, out WatchedBatch? local))
            {
                apply(local);
            }
        }
    }

    private bool AnyLaneWaiter()
    {
        lock (watchedLock)
        {
            return watched.Values.Any(b => b.Lanes.HasWaiters);
        }
    }

    private void PollSoon()
    {
        try
        {
            if (pollNow.CurrentCount == 0)
            {
                pollNow.Release();
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        KeyValuePair<string, WatchedBatch>[] snapshot;
        lock (watchedLock)
        {
            snapshot = watched.Where(kv => !kv.Value.IsCancelled).ToArray();
        }

        if (snapshot.Length == 0)
        {
            return;
        }

        // One query per group of batches, not a point read per batch: a process running ten batches polled ten rows
        // every interval, and on the emulator (one thread for the whole hub) every request counts. A table filter allows
        // at most 15 comparisons. A batch's partition holds its cancel row and a row per lane (a few), nothing else.
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var byId = snapshot.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (KeyValuePair<string, WatchedBatch>[] group in snapshot.Chunk(BatchesPerQuery))
        {
            string filter = SignalFilter(group.Select(kv => kv.Key));
            await foreach (TableEntity row in table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey", "JobsKey", "Through"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (!byId.TryGetValue(row.PartitionKey, out WatchedBatch? batch))
                {
                    continue;
                }

                if (row.RowKey == CancelRowKey)
                {
                    logger.LogInformation("Batch {BatchId} was cancelled: stopping its running jobs", row.PartitionKey);
                    batch.Cancel();
                }
                else if (row.RowKey.StartsWith(LaneRowPrefix, StringComparison.Ordinal) && row.GetString("JobsKey") is { } jobsKey && row.GetInt32("Through") is { } through)
                {
                    batch.Lanes.Record(jobsKey, row.RowKey[LaneRowPrefix.Length..], through);
                }
            }
        }
    }

    /// <summary>The filter for the partitions of <paramref name="batchIds"/> (at most <see cref="BatchesPerQuery"/>).</summary>
    internal static string SignalFilter(IEnumerable<string> batchIds) =>
        string.Join(" or ", batchIds.Select(id => TableClient.CreateQueryFilter($"PartitionKey eq {id}")));

    private async Task<bool> IsSignalledAsync(string batchId, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        NullableResponse<TableEntity> row = await table.GetEntityIfExistsAsync<TableEntity>(batchId, CancelRowKey, select: ["PartitionKey"], cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!tableReady)
        {
            await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            tableReady = true;
        }
    }

    private sealed class WatchedBatch : IDisposable
    {
        private readonly CancellationTokenSource source = new();
        private int references = 1;

        public CancellationToken Token => source.Token;

        /// <summary>The batch's lanes as last read here.</summary>
        public LaneMarks Lanes { get; } = new();

        public bool IsCancelled => source.IsCancellationRequested;

        // Called under the owner's lock.
        public WatchedBatch AddRef()
        {
            references++;
            return this;
        }

        public bool Release() => --references == 0;

        public void Cancel()
        {
            try
            {
                source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The last watch ended meanwhile.
            }
        }

        public void Dispose() => source.Dispose();
    }

    private sealed class Lease(TableBatchCancellationSignals owner, string batchId, WatchedBatch batch) : IBatchCancellationWatch
    {
        private int disposed;

        public CancellationToken Token { get; } = batch.Token;

        public Task WhenLaneFinishedAsync(string jobsKey, string lane, int sequence, CancellationToken cancellationToken)
        {
            Task finished = batch.Lanes.WhenFinishedAsync(jobsKey, lane, sequence, cancellationToken);
            if (!finished.IsCompleted)
            {
                owner.PollSoon();
            }

            return finished;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Release(batchId, batch);
            }
        }
    }
}
