namespace DurableJobs.Core.Pool;

/// <summary>How a <see cref="ChannelWorkerPool{TIn, TOut}"/> is sized.</summary>
internal sealed class WorkerPoolOptions
{
    /// <summary>Number of consumers, hence the most items handled at once. At least 1.</summary>
    public int WorkerCount { get; init; } = Environment.ProcessorCount;

    /// <summary>Capacity of the work channel; a producer waits (with its token) when it is full. 0 means twice <see cref="WorkerCount"/>, at least 64.</summary>
    public int InputCapacity { get; init; }

    /// <summary>Capacity of the results channel; a worker waits (with its token) when it is full. 0 means twice <see cref="WorkerCount"/>, at least 64.</summary>
    public int OutputCapacity { get; init; }

    /// <summary>Optional time limit of each item. When it passes, the item's token is cancelled; a handler that gives up then faults the pool with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan? ItemTimeout { get; init; }

    // Small channels make producer and consumers park and wake on nearly every item (each park allocates a
    // waiter); 64 slots keep memory bounded while letting them run in bursts.
    internal int EffectiveInputCapacity => InputCapacity > 0 ? InputCapacity : Math.Max(64, checked(WorkerCount * 2));

    internal int EffectiveOutputCapacity => OutputCapacity > 0 ? OutputCapacity : Math.Max(64, checked(WorkerCount * 2));

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(WorkerCount, 1, nameof(WorkerCount));
        ArgumentOutOfRangeException.ThrowIfNegative(InputCapacity, nameof(InputCapacity));
        ArgumentOutOfRangeException.ThrowIfNegative(OutputCapacity, nameof(OutputCapacity));
        if (ItemTimeout is { } timeout && timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(ItemTimeout), timeout, "Must be positive.");
        }
    }
}
