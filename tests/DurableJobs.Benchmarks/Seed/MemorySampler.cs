using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Seed;

/// <summary>
/// Samples the managed heap, the working set and the thread pool on a dedicated thread, so the sampling
/// keeps its pace even while a fan-out floods the thread pool.
/// </summary>
public sealed class MemorySampler : IDisposable
{
    private readonly Thread thread;
    private readonly TimeSpan interval;
    private volatile bool stopping;
    private long peakManaged;
    private long peakWorkingSet;
    private int peakThreads;

    public MemorySampler(TimeSpan interval)
    {
        this.interval = interval;
        thread = new Thread(Loop) { IsBackground = true, Name = "memory sampler" };
        thread.Start();
    }

    public long PeakManagedBytes => Interlocked.Read(ref peakManaged);

    public long PeakWorkingSetBytes => Interlocked.Read(ref peakWorkingSet);

    public int PeakThreadPoolThreads => Volatile.Read(ref peakThreads);

    /// <summary>Takes one sample now, so a short phase is not missed between two ticks.</summary>
    public void SampleNow()
    {
        // GetTotalMemory(false): no collection, so the sample sees what the run really holds, garbage included.
        AtomicMax.Raise(ref peakManaged, GC.GetTotalMemory(false));
        AtomicMax.Raise(ref peakWorkingSet, Environment.WorkingSet);
        int threads = ThreadPool.ThreadCount;
        if (threads > Volatile.Read(ref peakThreads))
        {
            Volatile.Write(ref peakThreads, threads);
        }
    }

    public void Dispose()
    {
        stopping = true;
        thread.Join();
        SampleNow();
    }

    private void Loop()
    {
        while (!stopping)
        {
            SampleNow();
            Thread.Sleep(interval);
        }
    }
}
