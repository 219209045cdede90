namespace DurableJobs.Benchmarks.Pool;

/// <summary>The per-item job every contender runs.</summary>
public enum Workload
{
    /// <summary><c>await Task.Yield()</c>: pure scheduling overhead, the worst case for a pool.</summary>
    Yield,

    /// <summary>A few microseconds of arithmetic: overhead amortised over real work.</summary>
    Cpu,
}
