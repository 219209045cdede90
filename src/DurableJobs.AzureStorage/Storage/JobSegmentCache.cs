using System.Diagnostics.CodeAnalysis;

namespace DurableJobs.Engine.Storage;

/// <summary>How much memory a parsed job segment holds, to bound <see cref="JobSegmentCache{T}"/> by it.</summary>
internal static class JobSegmentCache
{
    /// <summary>Managed bytes a parsed job costs beyond its JSON text (the job, its id and type strings, the payload's JsonDocument).</summary>
    internal const int OverheadPerJob = 320;

    /// <summary>The estimated managed size of a segment parsed from <paramref name="jsonBytes"/> of JSON holding <paramref name="jobCount"/> jobs.</summary>
    public static long Estimate(long jsonBytes, int jobCount) => (jsonBytes * 2) + ((long)jobCount * OverheadPerJob);
}

/// <summary>
/// The job segments (or their layouts) a worker read lately, least recently used first out, bounded by an estimate of
/// the memory they hold rather than by a count alone: a segment of 1,000 echo jobs holds ~0.3 MB, one of 1 MiB of
/// payloads ~2 MB. Segments are immutable, so an entry never goes stale; the cache only saves a download when
/// consecutive chunks share a segment (chunks are sized from job times, so their bounds rarely fall on segment
/// bounds) or a chunk is delivered again. It holds what the chunks in flight use, not the batch: unbounded, it kept
/// tens of MB of parsed payloads alive in gen 2 after a 100k batch.
/// </summary>
internal sealed class JobSegmentCache<T>
    where T : class
{
    private readonly long maxBytes;
    private readonly int maxSegments;
    private readonly Dictionary<string, LinkedListNode<Entry>> entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new();
    private readonly Lock gate = new();
    private long bytes;

    /// <summary>Creates a cache of at most <paramref name="maxSegments"/> segments and <paramref name="maxBytes"/> estimated bytes.</summary>
    public JobSegmentCache(int maxSegments, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSegments);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        this.maxSegments = maxSegments;
        this.maxBytes = maxBytes;
    }

    /// <summary>Segments held now.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>Estimated bytes held now.</summary>
    public long Bytes
    {
        get
        {
            lock (gate)
            {
                return bytes;
            }
        }
    }

    /// <summary>The segment called <paramref name="name"/>, if held; it becomes the most recently used.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out T? value)
    {
        lock (gate)
        {
            if (entries.TryGetValue(name, out LinkedListNode<Entry>? node))
            {
                recency.Remove(node);
                recency.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>Adds a segment of <paramref name="size"/> estimated bytes, dropping the least recently used ones to stay in bounds. One larger than the whole budget is not kept.</summary>
    public void Add(string name, T value, long size)
    {
        if (size > maxBytes || maxSegments == 0)
        {
            return;
        }

        lock (gate)
        {
            if (entries.ContainsKey(name))
            {
                return; // two chunks downloaded it at once: the first copy stays
            }

            while (recency.Last is { } oldest && (entries.Count >= maxSegments || bytes + size > maxBytes))
            {
                recency.RemoveLast();
                entries.Remove(oldest.Value.Name);
                bytes -= oldest.Value.Size;
            }

            entries[name] = recency.AddFirst(new Entry(name, value, size));
            bytes += size;
        }
    }

    private sealed record Entry(string Name, T Value, long Size);
}
