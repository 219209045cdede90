using System.Threading.Channels;
using DurableJobs.Orchestration.Storage;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// Records job results in the batch store as they come, in batches, from one pump task. Results are written
/// even while the host stops (a job that finished must not run again after redelivery); the pump ends when the
/// recorder is completed or disposed, which wait for it.
/// </summary>
internal sealed class ResultRecorder : IAsyncDisposable
{
    private const int BatchSize = 100;
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(200);

    private readonly IBatchStore store;
    private readonly string batchId;
    private readonly Channel<IndexedJobResult> pending = Channel.CreateBounded<IndexedJobResult>(
        new BoundedChannelOptions(BatchSize * 10) { SingleReader = true, SingleWriter = true });

    private readonly Task pump;
    private readonly Action<IReadOnlyList<IndexedJobResult>>? recorded;

    /// <param name="store">Where results go.</param>
    /// <param name="batchId">The batch.</param>
    /// <param name="recorded">Told of each group of results once it is stored.</param>
    public ResultRecorder(IBatchStore store, string batchId, Action<IReadOnlyList<IndexedJobResult>>? recorded = null)
    {
        this.store = store;
        this.batchId = batchId;
        this.recorded = recorded;
        pump = Task.Run(PumpAsync);
    }

    /// <summary>Queues a result; waits only while the recorder is <see cref="BatchSize"/>×10 results behind.</summary>
    public async ValueTask AddAsync(IndexedJobResult result)
    {
        if (!await pending.Writer.WaitToWriteAsync().ConfigureAwait(false) || !pending.Writer.TryWrite(result))
        {
            // The pump died: its exception surfaces from CompleteAsync.
            await pump.ConfigureAwait(false);
            throw new InvalidOperationException("The result recorder stopped unexpectedly.");
        }
    }

    /// <summary>Writes everything queued and returns when it is stored; throws if storing failed.</summary>
    public async Task CompleteAsync()
    {
        pending.Writer.TryComplete();
        await pump.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        pending.Writer.TryComplete();
        try
        {
            await pump.ConfigureAwait(false);
        }
        catch
        {
            // CompleteAsync reports failures; dispose only guarantees the pump is gone.
        }
    }

    private async Task PumpAsync()
    {
        var batch = new List<IndexedJobResult>(BatchSize);
        ChannelReader<IndexedJobResult> reader = pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                // Gather a batch: what is there now, plus what arrives within the flush interval.
                using var window = new CancellationTokenSource(FlushInterval);
                try
                {
                    while (batch.Count < BatchSize)
                    {
                        if (reader.TryRead(out IndexedJobResult? result))
                        {
                            batch.Add(result);
                        }
                        else if (!await reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (window.IsCancellationRequested)
                {
                    // Flush interval over: write what we have.
                }

                if (batch.Count > 0)
                {
                    await store.RecordAsync(batchId, batch, CancellationToken.None).ConfigureAwait(false);
                    recorded?.Invoke(batch);
                    batch.Clear();
                }
            }
        }
        catch (Exception ex)
        {
            pending.Writer.TryComplete(ex);
            throw;
        }
    }
}
