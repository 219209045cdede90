using System.Collections.Concurrent;
using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// Start and finish times recorded by the jobs of the systems that run inside this process (the sliding window's
/// activity, Hangfire's job method, the <c>Parallel.ForEachAsync</c> body): each job notes its own, as DurableJobs'
/// jobs do in their result rows, so every system is measured from the same kind of evidence. One run at a time; a job
/// that names its run (Hangfire's) is counted only in it.
/// </summary>
internal static class InProcessSpans
{
    /// <summary>The current run's spans.</summary>
    private static RunSpans spans = new(0);

    /// <summary>The current run: what a job started for it passes to <see cref="Record(int, DateTimeOffset, DateTimeOffset)"/>.</summary>
    public static int Run => Volatile.Read(ref spans).Run;

    /// <summary>Jobs recorded since the last <see cref="Take"/>.</summary>
    public static int Count => Volatile.Read(ref spans).Count;

    public static void Record(DateTimeOffset startedAt, DateTimeOffset finishedAt) =>
        Volatile.Read(ref spans).Enqueue(new JobSpan(startedAt, finishedAt));

    /// <summary>
    /// Records a job of <paramref name="run"/>, or drops it if another run has begun since: a Hangfire server that gave
    /// up waiting for its workers at its stop (a run that did not finish in time) leaves jobs running, and their late
    /// times, counted in the next run, put jobs before its start (a submit → first start of −15 s, 1,510 jobs of 1,500).
    /// </summary>
    public static void Record(int run, DateTimeOffset startedAt, DateTimeOffset finishedAt)
    {
        RunSpans current = Volatile.Read(ref spans);
        if (current.Run == run)
        {
            current.Enqueue(new JobSpan(startedAt, finishedAt));
        }
    }

    /// <summary>Everything recorded so far, and a clean slate for the next run (with the next <see cref="Run"/>).</summary>
    public static IReadOnlyList<JobSpan> Take()
    {
        RunSpans taken;
        RunSpans next;
        do
        {
            taken = Volatile.Read(ref spans);
            next = new RunSpans(taken.Run + 1);
        }
        while (Interlocked.CompareExchange(ref spans, next, taken) != taken);

        return [.. taken];
    }

    /// <summary>One run's spans, with its number.</summary>
    private sealed class RunSpans(int run) : ConcurrentQueue<JobSpan>
    {
        /// <summary>The run these spans belong to.</summary>
        public int Run { get; } = run;
    }
}
