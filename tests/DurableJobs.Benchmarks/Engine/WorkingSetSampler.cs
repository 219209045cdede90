using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>Samples this process's working set every 50 ms on a timer it owns; <see cref="Stop"/> returns the peak.</summary>
internal sealed class WorkingSetSampler : IDisposable
{
    private readonly Timer timer;
    private long peak;

    public WorkingSetSampler()
    {
        peak = Environment.WorkingSet;
        timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(50));
    }

    public long Stop()
    {
        timer.Change(Timeout.Infinite, Timeout.Infinite);
        Sample();
        return Interlocked.Read(ref peak);
    }

    public void Dispose() => timer.Dispose();

    private void Sample() => AtomicMax.Raise(ref peak, Environment.WorkingSet);
}
