using System.Diagnostics;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// Samples another process's working set (resident set) every 50 ms on a timer it owns. <see cref="TakePeak"/> returns
/// the highest sample since the previous call, so one sampler serves consecutive phases.
/// </summary>
internal sealed class ProcessWorkingSetSampler : IDisposable
{
    private readonly Process process;
    private readonly Timer timer;
    private readonly Lock gate = new();
    private long peak;

    public ProcessWorkingSetSampler(Process process)
    {
        this.process = process;
        peak = Current();
        timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(50));
    }

    /// <summary>The working set now.</summary>
    public long Current()
    {
        lock (gate)
        {
            process.Refresh();
            return process.HasExited ? 0 : process.WorkingSet64;
        }
    }

    /// <summary>The highest working set seen since the previous call (or the start), including now; starts the next phase.</summary>
    public long TakePeak()
    {
        long now = Current();
        lock (gate)
        {
            long result = Math.Max(peak, now);
            peak = now;
            return result;
        }
    }

    public void Dispose() => timer.Dispose();

    private void Sample()
    {
        try
        {
            long now = Current();
            lock (gate)
            {
                peak = Math.Max(peak, now);
            }
        }
        catch (InvalidOperationException)
        {
            // The process is gone; the run reports that on its own.
        }
    }
}
