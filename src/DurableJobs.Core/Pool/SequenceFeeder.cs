using System.Threading.Channels;

namespace DurableJobs.Core.Pool;

/// <summary>
/// Moves a synchronous sequence into a pool's bounded work channel, driven by the consumers themselves: a
/// consumer that finds the channel empty refills it, under a lock, until it is full again. There is no
/// producer task to schedule, wake or stop; items still pass through the bounded channel, so no more than its
/// capacity is ever taken from the sequence ahead of the consumers.
/// </summary>
/// <remarks>
/// A producer task parked on a full channel is woken for nearly every slot a consumer frees, and on a small
/// machine that wake competes with the consumers for a thread. Refilling in bursts from the consumer's own
/// thread removes that hand-off, which is most of what separated the pool from
/// <see cref="Parallel.ForEachAsync{TSource}(IEnumerable{TSource}, ParallelOptions, Func{TSource, CancellationToken, ValueTask})"/>.
/// </remarks>
internal sealed class SequenceFeeder<T>
{
    private readonly Lock gate = new();
    private readonly Channel<T> channel;
    private readonly Action<Exception> fault;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IEnumerator<T>? items;
    private bool hasPending;
    private T pending = default!;

    /// <param name="items">The sequence; it is enumerated on the consumers' threads, one at a time.</param>
    /// <param name="channel">The work channel to fill; completed when the sequence ends.</param>
    /// <param name="fault">Called once if the sequence throws.</param>
    public SequenceFeeder(IEnumerable<T> items, Channel<T> channel, Action<Exception> fault)
    {
        this.items = items.GetEnumerator();
        this.channel = channel;
        this.fault = fault;
    }

    /// <summary>Completes when the feeder will write nothing more: the sequence ended or threw, or the pool stopped.</summary>
    public Task Stopped => stopped.Task;

    /// <summary>True while the sequence may still have items.</summary>
    public bool IsFeeding => Volatile.Read(ref items) is not null;

    /// <summary>
    /// Writes items until the channel is full or the sequence ends. Returns true when the channel has items
    /// to read (written now or by another consumer), false when this feeder has nothing more to give and the
    /// channel is empty; the caller then waits on the channel, which completes when the sequence has ended.
    /// </summary>
    public bool Refill(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (items is not { } source)
            {
                return false;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                StopLocked();
                return false;
            }

            bool wrote = false;
            try
            {
                while (true)
                {
                    if (!hasPending)
                    {
                        if (!source.MoveNext())
                        {
                            StopLocked();
                            channel.Writer.TryComplete();
                            break;
                        }

                        pending = source.Current;
                        hasPending = true;
                    }

                    // A full channel means other items wait to be read; a closed one (a fault) takes nothing more.
                    if (!channel.Writer.TryWrite(pending))
                    {
                        break;
                    }

                    hasPending = false;
                    pending = default!;
                    wrote = true;
                }
            }
            catch (Exception ex)
            {
                StopLocked();
                fault(ex);
                return false;
            }

            return wrote || channel.Reader.Count > 0;
        }
    }

    /// <summary>Says the pool stopped: <see cref="Stopped"/> completes now; the sequence is disposed by <see cref="Dispose"/> or the next refill.</summary>
    public void MarkStopped() => stopped.TrySetResult();

    /// <summary>Disposes the sequence's enumerator. Call once no consumer can refill any more.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            StopLocked();
        }
    }

    private void StopLocked()
    {
        IEnumerator<T>? source = items;
        items = null;
        hasPending = false;
        pending = default!;
        stopped.TrySetResult();
        source?.Dispose();
    }
}
