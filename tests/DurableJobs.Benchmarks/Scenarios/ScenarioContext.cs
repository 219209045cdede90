using DurableJobs.Benchmarks.Cli;
using DurableJobs.Benchmarks.Reporting;

namespace DurableJobs.Benchmarks.Scenarios;

/// <summary>What a scenario gets: where to write, and how long it may take.</summary>
public sealed record ScenarioContext(Report Report, RunSettings Settings)
{
    /// <summary>A short smoke run: scenarios shrink their sizes so <c>all --quick</c> stays under a minute.</summary>
    public bool Quick => Settings.Quick;
}
