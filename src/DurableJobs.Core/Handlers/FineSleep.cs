using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// A sleep shorter than a millisecond, for <see cref="PreciseDelay"/>: .NET's waits take whole milliseconds, Linux's
/// <c>nanosleep</c> takes nanoseconds (ending within the thread's timer slack, 50 µs by default). Elsewhere
/// <see cref="IsSupported"/> is false and the delay rounds its waits up to a millisecond instead.
/// </summary>
internal static class FineSleep
{
    /// <summary>Whether <see cref="For"/> can sleep a fraction of a millisecond here (Linux).</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux();

    /// <summary>Blocks the calling thread for <paramref name="ticks"/> <see cref="Stopwatch"/> ticks (less than a second).</summary>
    public static void For(long ticks)
    {
        Debug.Assert(IsSupported, "only called where nanosleep exists");
        Debug.Assert(ticks > 0 && ticks < Stopwatch.Frequency, "a fraction of a millisecond, a second at most");
        var request = new TimeSpec { Seconds = 0, Nanoseconds = (nint)(ticks * 1_000_000_000L / Stopwatch.Frequency) };

        // An interrupted sleep (EINTR) ends early; the caller reads the clock again and waits the rest.
        _ = nanosleep(in request, IntPtr.Zero);
    }

    /// <summary>C's <c>struct timespec</c>: both fields are a C <c>long</c>, pointer-sized on Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        /// <summary>Whole seconds.</summary>
        public nint Seconds;

        /// <summary>Nanoseconds past them, below 10⁹.</summary>
        public nint Nanoseconds;
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // One call of plain values: the source generator's unsafe-code requirement buys nothing here.
    private static extern int nanosleep(in TimeSpec request, IntPtr remaining);
#pragma warning restore SYSLIB1054
}
