namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// Hangfire's job in the utilisation scenario: sleeps its length on the worker's own thread (Hangfire gives each worker
/// a dedicated thread and blocks it for the job either way) and records its own start and finish. Public: Hangfire
/// invokes only public methods.
/// </summary>
public static class HangfireDelayJob
{
    /// <summary>Sleeps <paramref name="milliseconds"/> and records the job as one of <paramref name="run"/> (<see cref="InProcessSpans.Run"/>).</summary>
    public static void Run(int milliseconds, int run)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        Thread.Sleep(milliseconds);
        InProcessSpans.Record(run, started, DateTimeOffset.UtcNow);
    }
}
