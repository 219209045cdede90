using System.Collections.Concurrent;
using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// Start and finish times recorded by the jobs of the systems that run inside this process (the sliding window's
/// activity, Hangfire's job method, the <c>Parallel.ForEachAsync</c> body): each job notes its own, as DurableJobs'
/// jobs do in their result rows, so every system is measured from the same kind of evidence. One run at a time.
/// </summary>
internal static class InProcessSpans
{
    private static ConcurrentQueue<JobSpan> spans = new();

    /// <summary>Jobs recorded since the last <see cref="Take"/>.</summary>
    public static int Count => Volatile.Read(ref spans).Count;

    public static void Record(DateTimeOffset startedAt, DateTimeOffset finishedAt) =>
        Volatile.Read(ref spans).Enqueue(new JobSpan(startedAt, finishedAt));

    /// <summary>Everything recorded so far, and a clean slate for the next run.</summary>
    public static IReadOnlyList<JobSpan> Take() => [.. Interlocked.Exchange(ref spans, new ConcurrentQueue<JobSpan>())];
}
