using System.Diagnostics;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// Asynchronous waits that end within about a millisecond of their time, for the <c>delay</c> job type and the
/// benchmarks that compare against it.
/// </summary>
/// <remarks>
/// Why not <see cref="Task.Delay(TimeSpan, CancellationToken)"/> alone: .NET's timers are due on
/// <see cref="Environment.TickCount64"/>, which on Linux reads the coarse monotonic clock, a tick of the kernel's
/// timer (4 ms at 250 Hz). A wait therefore ends on a tick after its time: measured on the 2-core VM, Task.Delay(10)
/// takes 12.0 ms, Task.Delay(5) 8.0 ms, Task.Delay(1) 4.2 ms, where a monitor wait takes 10.2, 5.2 and 1.2 ms. A
/// delay job of 10 ms that holds its slot for 12 wastes a sixth of the cap, whatever the engine does. So all but the
/// last <see cref="DefaultCoarseShare"/> of a wait goes to Task.Delay (cheap at any count), and the rest to one dedicated
/// thread that keeps the waits due in a heap and sleeps on a monitor until the earliest, against
/// <see cref="Stopwatch"/>, sleeping off the last fraction of a millisecond where the system can (<see cref="NextWait"/>).
/// The thread exits after <see cref="DefaultIdleExit"/> with nothing to wait for and starts again
/// on the next wait, so a process that runs no short delays keeps no thread for it.
/// </remarks>
internal sealed class PreciseDelay
{
    /// <summary>How far short of its end a wait leaves Task.Delay: two coarse ticks, so its late end is still early.</summary>
    internal static readonly TimeSpan DefaultCoarseShare = TimeSpan.FromMilliseconds(8);

    /// <summary>How long the thread stays, by default, with no wait due before it exits.</summary>
    internal static readonly TimeSpan DefaultIdleExit = TimeSpan.FromSeconds(1);

    /// <summary>Guards <see cref="due"/> and <see cref="thread"/>; the thread sleeps on it and is pulsed for an earlier wait.</summary>
    private readonly object gate = new();

    /// <summary>The waits handed to the thread, by their end (a <see cref="Stopwatch"/> timestamp); cancelled ones stay until due.</summary>
    private readonly PriorityQueue<Waiter, long> due = new();

    /// <summary>How far short of its end a wait leaves Task.Delay; a wait up to twice this is the thread's alone.</summary>
    private readonly TimeSpan coarseShare;

    /// <summary>How long the thread stays with no wait due before it exits.</summary>
    private readonly TimeSpan idleExit;

    /// <summary>The thread that ends the waits, or null while none runs.</summary>
    private Thread? thread;

    /// <summary>Creates a delay with its own thread; the parameters are for tests (defaults: two coarse ticks, a second).</summary>
    internal PreciseDelay(TimeSpan? coarseShare = null, TimeSpan? idleExit = null)
    {
        this.coarseShare = coarseShare ?? DefaultCoarseShare;
        this.idleExit = idleExit ?? DefaultIdleExit;
    }

    /// <summary>The process's instance: one thread for every delay.</summary>
    public static PreciseDelay Shared { get; } = new();

    /// <summary>Whether the thread runs (tests: it exits when idle).</summary>
    internal bool IsThreadRunning
    {
        get
        {
            lock (gate)
            {
                return thread is not null;
            }
        }
    }

    /// <summary>Waits <paramref name="wait"/>, or until <paramref name="cancellationToken"/> is cancelled (then throws).</summary>
    public async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(wait, TimeSpan.Zero);
        long end = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        if (wait > coarseShare * 2)
        {
            await Task.Delay(wait - coarseShare, cancellationToken).ConfigureAwait(false);
        }

        await WaitUntilAsync(end, cancellationToken).ConfigureAwait(false);
    }

    private Task WaitUntilAsync(long end, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Stopwatch.GetTimestamp() >= end)
        {
            return Task.CompletedTask;
        }

        var waiter = new Waiter();
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(static (state, token) => ((Waiter)state!).TrySetCanceled(token), waiter);
        }

        lock (gate)
        {
            bool earliest = !due.TryPeek(out _, out long first) || end < first;
            due.Enqueue(waiter, end);
            if (thread is null)
            {
                thread = new Thread(Run) { IsBackground = true, Name = "DurableJobs precise delay" };
                thread.Start();
            }
            else if (earliest)
            {
                Monitor.Pulse(gate);
            }
        }

        return waiter.Task;
    }

    private void Run()
    {
        var ended = new List<Waiter>();
        while (true)
        {
            long nap = 0;
            lock (gate)
            {
                while (true)
                {
                    long now = Stopwatch.GetTimestamp();
                    while (due.TryPeek(out _, out long end) && end <= now)
                    {
                        ended.Add(due.Dequeue());
                    }

                    if (ended.Count > 0)
                    {
                        break;
                    }

                    if (!due.TryPeek(out _, out long earliest))
                    {
                        if (!Monitor.Wait(gate, idleExit) && due.Count == 0)
                        {
                            thread = null;
                            return;
                        }

                        continue;
                    }

                    (int monitorMs, nap) = NextWait(earliest - now, FineSleep.IsSupported);
                    if (nap > 0)
                    {
                        break;
                    }

                    Monitor.Wait(gate, monitorMs);
                }
            }

            if (nap > 0)
            {
                // Outside the lock, so a new wait is queued meanwhile; one due earlier waits at most this fraction.
                FineSleep.For(nap);
                continue;
            }

            // Outside the lock: a registration's Dispose waits for a cancel callback that is running, and the
            // continuations run on the thread pool (RunContinuationsAsynchronously), never on this thread.
            foreach (Waiter waiter in ended)
            {
                waiter.TrySetResult();
                waiter.Registration.Dispose();
            }

            ended.Clear();
        }
    }

    /// <summary>
    /// How the thread waits for the earliest wait, <paramref name="left"/> <see cref="Stopwatch"/> ticks away: a
    /// monitor wait of whole milliseconds (it can be woken for an earlier wait), or, for the last fraction of a
    /// millisecond, a sleep of exactly that (<c>Nap</c>, in ticks) where the system has one.
    /// </summary>
    /// <remarks>
    /// A monitor wait cannot be shorter than a millisecond, so without a fine sleep the rest is rounded up and a wait
    /// ends up to a millisecond late. Waits that start together end together and share one wake, but jobs that start
    /// out of step (every slot refilled as its job ends) each got their own wake, late by half a millisecond on
    /// average: measured, a 10 ms delay job took 11.1-11.3 ms in the engine against 10.4 in-process, a tenth of the cap
    /// of 10 ms jobs. With the fine sleep the monitor waits the whole milliseconds only, and the fraction is slept
    /// off: late by the two wakes (about 0.1 ms each on the idle VM), with no spinning.
    /// </remarks>
    internal static (int MonitorMs, long Nap) NextWait(long left, bool fineSleep)
    {
        Debug.Assert(left > 0, "only a wait still to come is waited for");
        double ms = left * 1000.0 / Stopwatch.Frequency;
        if (!fineSleep)
        {
            return ((int)Math.Min(int.MaxValue, Math.Ceiling(ms)), 0);
        }

        return ms >= 1 ? ((int)Math.Min(int.MaxValue, Math.Floor(ms)), 0) : (0, left);
    }

    /// <summary>One wait: its task and its token's registration.</summary>
    private sealed class Waiter() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        /// <summary>The cancel callback, disposed once the wait ends.</summary>
        public CancellationTokenRegistration Registration { get; set; }
    }
}
