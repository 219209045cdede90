using Azure;
using Azure.Data.Tables;
using DurableJobs.Orchestration.Signals;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Signals;

/// <summary>
/// Batch cancel signals in an Azure Storage table shared by every process of the task hub: the client writes
/// a row, each worker polls the rows of the batches it is running. One poll loop per process, started on the
/// first watch and stopped on dispose, so nothing outlives its owner.
/// </summary>
public sealed class TableBatchCancellationSignals : IBatchCancellationSignals, IAsyncDisposable
{
    private const string CancelRowKey = "cancel";

    private readonly TableClient table;
    private readonly TimeSpan pollInterval;
    private readonly ILogger logger;
    private readonly Dictionary<string, WatchedBatch> watched = new(StringComparer.Ordinal);
    private readonly Lock watchedLock = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock startLock = new();
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
        lock (watchedLock)
        {
            if (watched.TryGetValue(batchId, out WatchedBatch? local))
            {
                local.Cancel();
            }
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
        using var timer = new PeriodicTimer(pollInterval);
        try
        {
            do
            {
                KeyValuePair<string, WatchedBatch>[] snapshot;
                lock (watchedLock)
                {
                    snapshot = watched.Where(kv => !kv.Value.IsCancelled).ToArray();
                }

                foreach ((string batchId, WatchedBatch batch) in snapshot)
                {
                    try
                    {
                        if (await IsSignalledAsync(batchId, cancellationToken).ConfigureAwait(false))
                        {
                            logger.LogInformation("Batch {BatchId} was cancelled: stopping its running jobs", batchId);
                            batch.Cancel();
                        }
                    }
                    catch (RequestFailedException ex)
                    {
                        // Storage hiccup: try again next round rather than kill the loop.
                        logger.LogWarning(ex, "Could not read the cancel signal of batch {BatchId}", batchId);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
    }

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

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Release(batchId, batch);
            }
        }
    }
}
