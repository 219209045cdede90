using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Testing;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are pending and when they are due, and counts those
/// that fired. Code under test often arms its next timer (the job runner's back-off or throttle wait, the completion
/// retry's back-off) on its own thread after something the test can see (a handler's report, a failed call): a test
/// that advanced the clock as soon as it saw that could move it before the timer existed, and the timer, armed
/// afterwards from the later time, would never fire (a CI run under load failed so). A test waits (real time) until
/// the timer it expects is pending, then advances.
/// </summary>
public sealed class ScheduleClock(DateTimeOffset start) : TimeProvider
{
    /// <summary>How long (real time) a wait for a timer lasts before it fails the test.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>The clock underneath: its timers fire inside <see cref="Advance"/>.</summary>
    private readonly FakeTimeProvider fake = new(start);

    /// <summary>Each pending timer and the time it is due; a timer leaves when it fires, is disarmed or is disposed.</summary>
    private readonly ConcurrentDictionary<Watched, DateTimeOffset> due = new();

    /// <summary>How many timer callbacks have run.</summary>
    private int fired;

    /// <summary>How many timer callbacks have run; they run inside <see cref="Advance"/>, so this is exact right after it.</summary>
    public int Fired => Volatile.Read(ref fired);

    public override long TimestampFrequency => fake.TimestampFrequency;

    public void Advance(TimeSpan by) => fake.Advance(by);

    public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

    public override long GetTimestamp() => fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var watched = new Watched(this);
        // Listed before the fake timer exists: a timer due at once fires inside CreateTimer, and its callback unlists it.
        watched.Schedule(dueTime);
        watched.Inner = fake.CreateTimer(
            s =>
            {
                if (period > TimeSpan.Zero && period != Timeout.InfiniteTimeSpan)
                {
                    due[watched] = GetUtcNow() + period;
                }
                else
                {
                    due.TryRemove(watched, out _);
                }

                Interlocked.Increment(ref fired);
                callback(s);
            },
            state,
            dueTime,
            period);
        return watched;
    }

    /// <summary>Waits (real time) until a timer is pending that is due exactly at <paramref name="at"/>.</summary>
    public Task WaitForTimerAtAsync(DateTimeOffset at) =>
        WaitForAsync(d => d == at, $"due at {at:O}");

    /// <summary>Waits (real time) until a timer is pending that is due within <paramref name="span"/> of the clock's now.</summary>
    public Task WaitForTimerWithinAsync(TimeSpan span) =>
        WaitForAsync(d => d <= GetUtcNow() + span, $"due within {span.TotalSeconds:0.###} s of {GetUtcNow():O}");

    private Task WaitForAsync(Func<DateTimeOffset, bool> wanted, string what) =>
        Eventually.MatchAsync(
            () => Task.FromResult(new Pending([.. due.Values])),
            pending => pending.Due.Any(wanted),
            Patience,
            TimeSpan.FromMilliseconds(2),
            $"A pending timer {what} (real time)");

    /// <summary>The due times of the timers pending at one moment; printed when a wait for a timer fails.</summary>
    private sealed record Pending(DateTimeOffset[] Due)
    {
        public override string ToString() => $"pending: {string.Join(", ", Due.Select(d => d.ToString("O")))}";
    }

    /// <summary>A timer of the fake clock that keeps its entry in <see cref="due"/> up to date.</summary>
    private sealed class Watched(ScheduleClock clock) : ITimer
    {
        /// <summary>The fake clock's own timer.</summary>
        public ITimer Inner { get; set; } = null!;

        public void Schedule(TimeSpan dueTime)
        {
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                clock.due.TryRemove(this, out _);
            }
            else
            {
                clock.due[this] = clock.GetUtcNow() + dueTime;
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Schedule(dueTime);
            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            clock.due.TryRemove(this, out _);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            clock.due.TryRemove(this, out _);
            return Inner.DisposeAsync();
        }
    }
}
