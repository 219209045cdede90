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
                inFlight.Add(context.CallActivityAsync<int>(NoOpJobActivity.Name, next++));
            }

            Task<int> finished = await Task.WhenAny(inFlight);
            inFlight.Remove(finished);
            await finished;
            done++;
        }

        return done;
    }
}
