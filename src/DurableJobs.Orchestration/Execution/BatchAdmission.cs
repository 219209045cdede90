namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Limits how many distinct batches run chunks in this process at once (<see cref="JobExecutionOptions.MaxConcurrentBatches"/>).
/// A chunk of a batch that already runs here joins it at once: the limit counts batches, not chunks, so a batch
/// that got in is never starved by its own parallelism. A chunk of any other batch waits for a batch to leave;
/// it does not fail, because a failed chunk would cost the batch a retry or, after five, its jobs. Per process
/// on purpose: it protects this host's memory and sockets, needs no shared state, and every waiting chunk is an
/// activity whose message Durable Task keeps locked, so another worker with room can take the next ones.
/// </summary>
internal sealed class BatchAdmission
{
    private readonly SemaphoreSlim? slots;
    private readonly Dictionary<string, int> chunksByBatch = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>Creates the limiter; <paramref name="maxConcurrentBatches"/> 0 or less means no limit.</summary>
    public BatchAdmission(int maxConcurrentBatches)
    {
        if (maxConcurrentBatches > 0)
        {
            slots = new SemaphoreSlim(maxConcurrentBatches, maxConcurrentBatches);
        }
    }

    /// <summary>Batches running chunks here now.</summary>
    public int RunningBatches
    {
        get
        {
            lock (gate)
            {
                return chunksByBatch.Count;
            }
        }
    }

    /// <summary>True when a chunk of <paramref name="batchId"/> would have to wait now.</summary>
    public bool MustWait(string batchId)
    {
        if (slots is null)
        {
            return false;
        }

        lock (gate)
        {
            return !chunksByBatch.ContainsKey(batchId) && slots.CurrentCount == 0;
        }
    }

    /// <summary>Admits a chunk of <paramref name="batchId"/>, waiting while the limit is reached; dispose the result when the chunk is done.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired while waiting.</exception>
    public async ValueTask<Admitted> EnterAsync(string batchId, CancellationToken cancellationToken)
    {
        if (slots is null)
        {
            return default;
        }

        if (TryJoin(batchId))
        {
            return new Admitted(this, batchId);
        }

        await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (gate)
        {
            if (chunksByBatch.TryGetValue(batchId, out int chunks))
            {
                // Another chunk of the batch got in while this one waited: join it and give the slot back.
                chunksByBatch[batchId] = chunks + 1;
                slots.Release();
            }
            else
            {
                chunksByBatch[batchId] = 1;
            }
        }

        return new Admitted(this, batchId);
    }

    private bool TryJoin(string batchId)
    {
        lock (gate)
        {
            if (!chunksByBatch.TryGetValue(batchId, out int chunks))
            {
                return false;
            }

            chunksByBatch[batchId] = chunks + 1;
            return true;
        }
    }

    private void Leave(string batchId)
    {
        lock (gate)
        {
            int chunks = chunksByBatch[batchId] - 1;
            if (chunks > 0)
            {
                chunksByBatch[batchId] = chunks;
                return;
            }

            chunksByBatch.Remove(batchId);
            slots!.Release();
        }
    }

    /// <summary>A chunk's place among the running batches; disposing it leaves.</summary>
    internal readonly struct Admitted(BatchAdmission? owner, string? batchId) : IDisposable
    {
        public void Dispose() => owner?.Leave(batchId!);
    }
}
