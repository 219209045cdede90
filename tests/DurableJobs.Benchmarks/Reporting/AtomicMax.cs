namespace DurableJobs.Benchmarks.Reporting;

/// <summary>Raises a peak shared between threads without a lock: the samplers and counters of every scenario use it.</summary>
internal static class AtomicMax
{
    /// <summary>Sets <paramref name="peak"/> to <paramref name="value"/> if that is higher, even against concurrent callers.</summary>
    public static void Raise(ref long peak, long value)
    {
        long seen = Interlocked.Read(ref peak);
        while (value > seen)
        {
            long previous = Interlocked.CompareExchange(ref peak, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }

    /// <inheritdoc cref="Raise(ref long, long)"/>
    public static void Raise(ref int peak, int value)
    {
        int seen = Volatile.Read(ref peak);
        while (value > seen)
        {
            int previous = Interlocked.CompareExchange(ref peak, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
