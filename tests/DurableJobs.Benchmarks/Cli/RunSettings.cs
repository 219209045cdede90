namespace DurableJobs.Benchmarks.Cli;

/// <summary>What the command line asked for.</summary>
public sealed record RunSettings(IReadOnlyList<string> Scenarios, bool Quick, string? OutputPath, bool Verbose);
