using DurableJobs.Benchmarks.Utilisation;
using Microsoft.DurableTask;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>Baseline 2: one activity per job under a sliding window of <c>cap</c> (Task.WhenAny), the usual way to cap a fan-out.</summary>
public sealed class SlidingWindowOrchestrator : TaskOrchestrator<WindowInput, int>
{
    public const string Name = "BenchSlidingWindow";

    public override async Task<int> RunAsync(TaskOrchestrationContext context, WindowInput input)
    {
        var inFlight = new List<Task<int>>(input.Cap);
        int next = 0, done = 0;
        while (done < input.Count)
        {
            while (next < input.Count && inFlight.Count < input.Cap)
            {
                // A job of a given length (the utilisation scenario) or a no-op (the engine scenario's overhead row).
                inFlight.Add(input.DelayMs > 0
                    ? context.CallActivityAsync<int>(DelayJobActivity.Name, input.DelayMs)
                    : context.CallActivityAsync<int>(NoOpJobActivity.Name, next));
                next++;
            }

            Task<int> finished = await Task.WhenAny(inFlight);
            inFlight.Remove(finished);
            await finished;
            done++;
        }

        return done;
    }
}
