using Microsoft.DurableTask;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>Baseline 1: the textbook fan-out. Every job is its own activity, all scheduled at once, then Task.WhenAll.</summary>
public sealed class NaiveFanOutOrchestrator : TaskOrchestrator<int, int>
{
    public const string Name = "BenchNaiveFanOut";

    public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
    {
        var calls = new Task<int>[input];
        for (int i = 0; i < input; i++)
        {
            calls[i] = context.CallActivityAsync<int>(NoOpJobActivity.Name, i);
        }

        return (await Task.WhenAll(calls)).Length;
    }
}
