using DurableJobs.Benchmarks.Cancel;
using DurableJobs.Benchmarks.Engine;
using DurableJobs.Benchmarks.Limits;
using DurableJobs.Benchmarks.Pool;
using DurableJobs.Benchmarks.Seed;
using DurableJobs.Benchmarks.Soak;
using DurableJobs.Benchmarks.Utilisation;

namespace DurableJobs.Benchmarks.Scenarios;

/// <summary>Every scenario, in the order <c>all</c> runs them. Adding a scenario is one line here.</summary>
public static class ScenarioCatalog
{
    public static IReadOnlyList<IBenchmarkScenario> All { get; } =
    [
        new PoolThroughputScenario(),
        new CancelLatencyScenario(),
        new SeedLeakScenario(),
        new EngineScenario(),
        new UtilisationScenario(),
        new LimitsScenario(),
        new SoakScenario(),
    ];

    public static IBenchmarkScenario? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}
