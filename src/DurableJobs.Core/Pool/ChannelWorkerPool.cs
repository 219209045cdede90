using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace DurableJobs.Core.Pool;

/// <summary>
/// A fixed set of consumers reading a bounded work channel and writing a bounded results channel, where every
/// read and write takes one pool-wide token. It answers the question "who stops this task, when, and how?"
/// for every task it starts: the pool does, on cancel (the caller's token, <see cref="Cancel"/>, a results
/// reader walking away) or on the first handler fault, and <see cref="DisposeAsync"/> returns only when all
/// of them have finished.
/// </summary>
/// <typeparam name="TIn">The work item.</typeparam>
/// <typeparam name="TOut">The result of one item.</typeparam>
internal sealed class ChannelWorkerPool<TIn, TOut> : IAsyncDisposable
{
    // Admission state: the low bits count handlers started, this bit closes the gate. One atomic word means
    // that once Cancel returns, no handler can start: a late worker's compare-and-swap sees the bit.
    private const long ClosedBit = 1L << 62;

    private readonly Func<TIn, CancellationToken, ValueTask<TOut>> handler;
    private readonly TimeSpan? itemTimeout;
    private readonly Func<TIn, CancellationToken, ValueTask>? sink;
    private readonly Channel<TIn> input;
    private readonly Channel<TOut> output;
    private readonly CancellationTokenSource cts;
    private readonly CancellationTokenRegistration closeGateOnCancel;
    private readonly List<Task> tasks = [];
    private readonly Lock tasksLock = new();
    private long admission;
    private int activeHandlers;
    private int peakActiveHandlers;
    private Exception? fault;
    private SequenceFeeder<TIn>? feeder;
    private int disposed;

    /// <summary>Creates the pool and starts its consumers.</summary>
    /// <param name="handler">Handles one item. It gets the pool's token (linked to the item's timeout when one is set).</param>
    /// <param name="options">Sizing.</param>
    /// <param name="cancellationToken">The parent: cancelling it stops every consumer and every pending read or write.</param>
    public ChannelWorkerPool(
        Func<TIn, CancellationToken, ValueTask<TOut>> handler,
        WorkerPoolOptions options,
        CancellationToken cancellationToken = default)
        : this(handler, sink: null, options, cancellationToken)
    {
    }

    /// <summary>Creates the pool and starts its consumers.</summary>
    /// <param name="handler">Handles one item; with a sink, only used when items have a timeout.</param>
    /// <param name="sink">
    /// For a pool whose results nobody reads (<see cref="WorkerPool.ForEachAsync"/>): called instead of
    /// <paramref name="handler"/>, and nothing goes through the results channel, so no reader is woken per item.
    /// </param>
    /// <param name="options">Sizing.</param>
    /// <param name="cancellationToken">The parent.</param>
    internal ChannelWorkerPool(
        Func<TIn, CancellationToken, ValueTask<TOut>> handler,
        Func<TIn, CancellationToken, ValueTask>? sink,
        WorkerPoolOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        this.handler = handler;
        this.sink = sink;
        itemTimeout = options.ItemTimeout == Timeout.InfiniteTimeSpan ? null : options.ItemTimeout;
        WorkerCount = options.WorkerCount;
        input = Channel.CreateBounded<TIn>(new BoundedChannelOptions(options.EffectiveInputCapacity)
        {
            SingleReader = false,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        output = Channel.CreateBounded<TOut>(new BoundedChannelOptions(options.EffectiveOutputCapacity)
        {
            SingleReader = false,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });

        cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        closeGateOnCancel = cts.Token.UnsafeRegister(static state => ((ChannelWorkerPool<TIn, TOut>)state!).CloseGate(), this);

        var workers = new Task<bool>[WorkerCount];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(RunWorkerAsync);
        }

        Completion = Track(CompleteAfterAsync(workers));
        foreach (Task worker in workers)
        {
            Track(worker);
        }
    }

    /// <summary>Number of consumers.</summary>
    public int WorkerCount { get; }

    /// <summary>
    /// Finishes when every consumer has: successfully once the input is complete and drained, faulted with
    /// the first handler exception, or cancelled when the pool was cancelled first.
    /// </summary>
    public Task Completion { get; }

    /// <summary>The token every read, write and handler of this pool observes.</summary>
    public CancellationToken Token => cts.Token;

    /// <summary>Handlers started so far. Final once <see cref="Cancel"/> returns.</summary>
    public long HandlersStarted => Volatile.Read(ref admission) & ~ClosedBit;

    /// <summary>Handlers running now.</summary>
    public int ActiveHandlers => Volatile.Read(ref activeHandlers);

    /// <summary>The most handlers that ever ran at once; never more than <see cref="WorkerCount"/>.</summary>
    public int PeakActiveHandlers => Volatile.Read(ref peakActiveHandlers);

    /// <summary>Queues one item, waiting while the work channel is full.</summary>
    /// <exception cref="OperationCanceledException">The pool or <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ChannelClosedException">The input was completed, or a handler faulted the pool (see the inner exception).</exception>
    public async ValueTask WriteAsync(TIn item, CancellationToken cancellationToken = default)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            await input.Writer.WriteAsync(item, cts.Token).ConfigureAwait(false);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, cancellationToken);
        await input.Writer.WriteAsync(item, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Says no more items will be written; consumers finish the queued ones, then stop.</summary>
    public void Complete() => input.Writer.TryComplete();

    /// <summary>
    /// Starts a producer owned by the pool: it writes <paramref name="items"/>, then completes the input.
    /// It stops early, without blocking, when the pool is cancelled or faults. The pool waits for it on dispose.
    /// </summary>
    public Task StartProducer(IAsyncEnumerable<TIn> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return Track(Task.Run(async () =>
        {
            Exception? error = null;
            try
            {
                await foreach (TIn item in items.WithCancellation(cts.Token).ConfigureAwait(false))
                {
                    await WriteOwnedAsync(item).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                // Cancelled: the pool's completion already says so.
            }
            catch (ChannelClosedException)
            {
                // A handler faulted and closed the input: the pool's completion carries that fault.
            }
            catch (Exception ex)
            {
                // The source itself failed: that is a fault of the whole run.
                error = ex;
                Fault(ex);
            }
            finally
            {
                input.Writer.TryComplete(error);
            }
        }));
    }

    /// <summary>
    /// Feeds a synchronous sequence through the work channel, then completes the input. No task is started for
    /// it: consumers that find the channel empty refill it from the sequence, so it is enumerated on their
    /// threads, one at a time, and never more than the channel's capacity ahead of them. It stops being read
    /// when the pool is cancelled or faults; an exception from the sequence faults the pool.
    /// </summary>
    /// <returns>A task that completes when nothing more will be taken from the sequence.</returns>
    /// <exception cref="InvalidOperationException">The pool already feeds from a sequence.</exception>
    public Task StartProducer(IEnumerable<TIn> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var created = new SequenceFeeder<TIn>(items, input, Fault);
        if (Interlocked.CompareExchange(ref feeder, created, null) is not null)
        {
            throw new InvalidOperationException("The pool already feeds from a sequence; it completes the input when that ends.");
        }

        if (cts.IsCancellationRequested)
        {
            created.Dispose();
            return created.Stopped;
        }

        // Consumers may all be waiting on the empty channel already: the first burst wakes them. It runs on
        // the thread pool so the caller is not held up by the sequence.
        Track(Task.Run(() => created.Refill(cts.Token)));
        return created.Stopped;
    }

    /// <summary>
    /// Streams results as they are produced. Ends when every item is handled; throws the handler's exception
    /// when the pool faulted, or <see cref="OperationCanceledException"/> when it was cancelled. Leaving the
    /// loop early cancels the pool, so no consumer stays blocked on a results channel nobody reads.
    /// </summary>
    public async IAsyncEnumerable<TOut> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        bool drained = false;
        try
        {
            while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (output.Reader.TryRead(out TOut? result))
                {
                    yield return result;
                }
            }

            drained = true;
        }
        finally
        {
            if (!drained)
            {
                Cancel();
            }
        }

        await Completion.ConfigureAwait(false);
    }

    /// <summary>Stops the pool: no handler starts after this returns, running handlers see their token cancelled.</summary>
    public void Cancel()
    {
        CloseGate();
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nothing is running any more.
        }
    }

    /// <summary>Cancels whatever still runs and returns when every task the pool started has finished.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        Cancel();
        input.Writer.TryComplete();
        Task[] started;
        lock (tasksLock)
        {
            started = [.. tasks];
        }

        try
        {
            await Task.WhenAll(started).ConfigureAwait(false);
        }
        catch
        {
            // Outcomes are reported through Completion and ReadAllAsync; dispose only waits.
        }

        // Every consumer has finished, so none can be refilling: the sequence is released here.
        Volatile.Read(ref feeder)?.Dispose();
        await closeGateOnCancel.DisposeAsync().ConfigureAwait(false);
        cts.Dispose();
    }

    // Writes without an await while there is room; waits (on the pool's token) only when the channel is full.
    private ValueTask WriteOwnedAsync(TIn item) =>
        input.Writer.TryWrite(item) ? ValueTask.CompletedTask : input.Writer.WriteAsync(item, cts.Token);

    private async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await output.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Completed with a fault: Completion rethrows the original exception.
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Completed because the pool was cancelled: Completion says so.
            return false;
        }
    }

    private async Task<bool> RunWorkerAsync()
    {
        CancellationToken token = cts.Token;
        ChannelReader<TIn> reader = input.Reader;
        try
        {
            while (true)
            {
                while (reader.TryRead(out TIn? item))
                {
                    if (!TryAdmit())
                    {
                        return false;
                    }

                    TOut result;
                    try
                    {
                        // Awaiting the handler directly (no wrapper method) saves an async frame per item.
                        if (itemTimeout is { } timeout)
                        {
                            result = await InvokeWithTimeoutAsync(item, timeout, token).ConfigureAwait(false);
                        }
                        else if (sink is null)
                        {
                            result = await handler(item, token).ConfigureAwait(false);
                        }
                        else
                        {
                            await sink(item, token).ConfigureAwait(false);
                            continue;
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref activeHandlers);
                    }

                    if (sink is null && !output.Writer.TryWrite(result))
                    {
                        await output.Writer.WriteAsync(result, token).ConfigureAwait(false);
                    }
                }

                // Empty: refill from the pool's sequence if it has one, else wait for a writer (or completion).
                if (Volatile.Read(ref feeder) is { IsFeeding: true } source && source.Refill(token))
                {
                    continue;
                }

                if (!await reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
        }
        catch (ChannelClosedException) when (Volatile.Read(ref fault) is not null)
        {
            return false;
        }
        catch (Exception ex)
        {
            Fault(ex);
            return false;
        }
    }

    private async ValueTask<TOut> InvokeWithTimeoutAsync(TIn item, TimeSpan timeout, CancellationToken token)
    {
        using var itemCts = CancellationTokenSource.CreateLinkedTokenSource(token);
        itemCts.CancelAfter(timeout);
        try
        {
            return await handler(item, itemCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (itemCts.IsCancellationRequested && !token.IsCancellationRequested)
        {
            throw new TimeoutException($"A work item did not finish within {timeout}.", ex);
        }
    }

    private bool TryAdmit()
    {
        long state = Volatile.Read(ref admission);
        while (true)
        {
            if ((state & ClosedBit) != 0)
            {
                return false;
            }

            long seen = Interlocked.CompareExchange(ref admission, state + 1, state);
            if (seen == state)
            {
                break;
            }

            state = seen;
        }

        int active = Interlocked.Increment(ref activeHandlers);
        int peak = Volatile.Read(ref peakActiveHandlers);
        while (active > peak)
        {
            int seenPeak = Interlocked.CompareExchange(ref peakActiveHandlers, active, peak);
            if (seenPeak == peak)
            {
                break;
            }

            peak = seenPeak;
        }

        return true;
    }

    private void CloseGate()
    {
        Interlocked.Or(ref admission, ClosedBit);
        Volatile.Read(ref feeder)?.MarkStopped();
    }

    private void Fault(Exception exception)
    {
        if (Interlocked.CompareExchange(ref fault, exception, null) is null)
        {
            // The first fault stops everyone, and unblocks a producer waiting on a full input.
            input.Writer.TryComplete(exception);
            Cancel();
        }
    }

    private async Task CompleteAfterAsync(Task<bool>[] workers)
    {
        bool[] drained = await Task.WhenAll(workers).ConfigureAwait(false);
        if (Volatile.Read(ref fault) is { } error)
        {
            output.Writer.TryComplete(error);
            ExceptionDispatchInfo.Capture(error).Throw();
        }

        if (drained.All(d => d))
        {
            output.Writer.TryComplete();
            return;
        }

        var cancelled = new OperationCanceledException("The worker pool was cancelled before all its work was done.", cts.Token);
        output.Writer.TryComplete(cancelled);
        throw cancelled;
    }

    private Task Track(Task task)
    {
        lock (tasksLock)
        {
            tasks.Add(task);
        }

        return task;
    }
}
