namespace DurableJobs.Benchmarks.Engine;

/// <summary>Input of <see cref="SlidingWindowOrchestrator"/>: <paramref name="DelayMs"/> above 0 runs jobs of that length instead of no-ops.</summary>
public sealed record WindowInput(int Count, int Cap, int DelayMs = 0);
