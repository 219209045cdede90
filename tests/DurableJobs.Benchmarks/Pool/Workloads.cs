using System.Runtime.CompilerServices;

namespace DurableJobs.Benchmarks.Pool;

/// <summary>The jobs, as the one handler shape every contender calls, so only the scheduling differs.</summary>
public static class Workloads
{
    private const int CpuRounds = 1_000;

    private static readonly Func<int, CancellationToken, ValueTask<int>> YieldHandler = YieldAsync;
    private static readonly Func<int, CancellationToken, ValueTask<int>> CpuHandler = static (item, _) => ValueTask.FromResult(Cpu(item));

    public static Func<int, CancellationToken, ValueTask<int>> For(Workload workload) => workload switch
    {
        Workload.Yield => YieldHandler,
        Workload.Cpu => CpuHandler,
        _ => throw new ArgumentOutOfRangeException(nameof(workload), workload, null),
    };

    /// <summary>An xorshift chain: cheap, allocation-free, and its result is used so the JIT cannot drop it.</summary>
    /// <remarks>Fully optimised from the first call, so whichever contender runs first does not pay for tiering.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static int Cpu(int item)
    {
        uint x = (uint)item | 1u;
        for (int i = 0; i < CpuRounds; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
        }

        return (int)(x & 0xFF);
    }

    private static async ValueTask<int> YieldAsync(int item, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return item & 0xFF;
    }
}
