using System.Text.Json;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Core.Tests.Handlers;

/// <summary>
/// <c>delay</c> against a clock whose readings are scripted: the thread preempted between two readings near the end of
/// the wait, which on a loaded machine left a 10 ms job waiting forever (its batch stuck at 982 of 1,000 in the
/// utilisation benchmark) or failing with ArgumentOutOfRangeException (a batch of 1,000 ended with 999 succeeded).
/// </summary>
public sealed class DelayJobHandlerClockTests
{
    [Theory]
    // Past the end by 1.5 ms at the next reading: a wait computed from it is -1.5 ms, which Task.Delay reads as infinite.
    [InlineData(1.5)]
    // Past the end by 5 ms: a wait of -5 ms, which Task.Delay refuses.
    [InlineData(5.0)]
    public async Task Delay10Ms_WhoseClockPassesTheEndBetweenTwoReadings_FinishesAfter10Ms(double pastEndMs)
    {
        // Readings: the start, then 9.5 ms (0.5 ms left), then past the end, then on by a millisecond per reading.
        var clock = new ScriptedClock(DateTimeOffset.UnixEpoch, [0, 9.5, 10 + pastEndMs]);
        var handler = new DelayJobHandler(clock);
        using JsonDocument payload = JsonDocument.Parse("""{"ms":10}""");

        Task<JsonElement?> run = handler.ExecuteAsync(new JobContext("batch", "job", 1), payload.RootElement, CancellationToken.None).AsTask();

        // Generous for a loaded machine: the real waits add up to about a millisecond.
        JsonElement? output = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(10, output!.Value.GetProperty("sleptMs").GetInt32());
    }

    [Fact]
    public async Task Delay10Ms_WhoseClockReadsExactlyTheEnd_FinishesWithoutAnotherWait()
    {
        var clock = new ScriptedClock(DateTimeOffset.UnixEpoch, [0, 10]);
        var handler = new DelayJobHandler(clock);
        using JsonDocument payload = JsonDocument.Parse("""{"ms":10}""");

        JsonElement? output = await handler.ExecuteAsync(new JobContext("batch", "job", 1), payload.RootElement, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(10, output!.Value.GetProperty("sleptMs").GetInt32());
        Assert.Equal(2, clock.Readings);
    }

    /// <summary>A clock that answers the scripted offsets (ms) in turn, then one millisecond more per reading; timers are real.</summary>
    private sealed class ScriptedClock(DateTimeOffset origin, double[] offsetsMs) : TimeProvider
    {
        private double lastMs;

        public int Readings { get; private set; }

        public override DateTimeOffset GetUtcNow()
        {
            lock (offsetsMs)
            {
                lastMs = Readings < offsetsMs.Length ? offsetsMs[Readings] : lastMs + 1;
                Readings++;
                return origin + TimeSpan.FromMilliseconds(lastMs);
            }
        }
    }
}
