using DurableJobs.Core.Handlers;
using Microsoft.DurableTask;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// The sliding window's job when it runs real durations: one activity that waits its input in milliseconds as the
/// <c>delay</c> job type does (<see cref="PreciseDelay"/>), and records its own start and finish (<see cref="InProcessSpans"/>).
/// </summary>
public sealed class DelayJobActivity : TaskActivity<int, int>
{
    public const string Name = "BenchDelayJob";

    public override async Task<int> RunAsync(TaskActivityContext context, int input)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        await PreciseDelay.Shared.WaitAsync(TimeSpan.FromMilliseconds(input), CancellationToken.None).ConfigureAwait(false);
        InProcessSpans.Record(started, DateTimeOffset.UtcNow);
        return input;
    }
}
