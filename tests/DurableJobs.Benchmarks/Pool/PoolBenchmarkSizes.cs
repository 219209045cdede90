namespace DurableJobs.Benchmarks.Pool;

/// <summary>
/// The parameter values of <see cref="PoolBenchmarks"/>. Static and mutable because BenchmarkDotNet reads
/// [ParamsSource] members, and it runs in this process (InProcessEmitToolchain), so the scenario can shrink
/// them for --quick before it starts.
/// </summary>
public static class PoolBenchmarkSizes
{
    public static int[] Parallelism { get; set; } = [8, 64];

    public static int[] Items { get; set; } = [100_000];

    public static Workload[] Workloads { get; set; } = [Workload.Yield, Workload.Cpu];
}
