using Microsoft.DurableTask;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>The baselines' job: one activity per job that does nothing, so only the engine's cost is measured.</summary>
public sealed class NoOpJobActivity : TaskActivity<int, int>
{
    public const string Name = "BenchNoOpJob";

    public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input);
}
