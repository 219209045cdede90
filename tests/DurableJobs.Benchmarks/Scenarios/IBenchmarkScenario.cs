namespace DurableJobs.Benchmarks.Scenarios;

/// <summary>One named benchmark. Register it in <see cref="ScenarioCatalog"/> to make it runnable.</summary>
public interface IBenchmarkScenario
{
    /// <summary>The command-line name, e.g. <c>pool</c>.</summary>
    string Name { get; }

    /// <summary>One line for the usage text and the report heading.</summary>
    string Title { get; }

    /// <summary>Whether <c>all</c> runs it (a scenario that needs outside services may opt out).</summary>
    bool InAll { get; }

    /// <summary>Measures and writes its tables to <see cref="ScenarioContext.Report"/>.</summary>
    Task RunAsync(ScenarioContext context, CancellationToken cancellationToken);
}
