using System.Diagnostics;

namespace DurableJobs.Benchmarks.Limits;

/// <summary>The CPU a process used over labelled spans of wall time, in cores (1.0: one core busy throughout).</summary>
internal sealed class ProcessCpu(int processId)
{
    /// <summary>CPU time and wall time summed per label.</summary>
    private readonly Dictionary<string, (TimeSpan Cpu, TimeSpan Wall)> spans = new(StringComparer.Ordinal);

    /// <summary>Measures until the returned scope is disposed, adding to <paramref name="label"/>'s sums.</summary>
    public IDisposable Measure(string label) => new Scope(this, label, Cpu(), Stopwatch.GetTimestamp());

    /// <summary>Cores used over <paramref name="label"/>'s spans (NaN if none or the process was gone).</summary>
    public double Share(string label) =>
        spans.TryGetValue(label, out (TimeSpan Cpu, TimeSpan Wall) sum) && sum.Wall > TimeSpan.Zero ? sum.Cpu / sum.Wall : double.NaN;

    private TimeSpan Cpu()
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            return process.TotalProcessorTime;
        }
        catch (ArgumentException)
        {
            return TimeSpan.Zero; // exited
        }
    }

    private sealed class Scope(ProcessCpu owner, string label, TimeSpan cpuAtStart, long startedAt) : IDisposable
    {
        public void Dispose()
        {
            TimeSpan cpu = owner.Cpu() - cpuAtStart;
            TimeSpan wall = Stopwatch.GetElapsedTime(startedAt);
            (TimeSpan Cpu, TimeSpan Wall) sum = owner.spans.GetValueOrDefault(label);
            owner.spans[label] = (sum.Cpu + cpu, sum.Wall + wall);
        }
    }
}
