namespace DurableJobs.Benchmarks.Engine;

/// <summary>Input of <see cref="SlidingWindowOrchestrator"/>.</summary>
public sealed record WindowInput(int Count, int Cap);
