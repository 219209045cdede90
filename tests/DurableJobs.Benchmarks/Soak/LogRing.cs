using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Benchmarks.Soak;

/// <summary>
/// Keeps the host's recent log lines in memory (DurableJobs at Debug, the rest at Information), so a batch that does
/// not finish can be explained after the fact without paying for logging on every run that does.
/// </summary>
internal sealed class LogRing : ILoggerProvider
{
    private const int Capacity = 200_000;
    private readonly ConcurrentQueue<string> lines = new();

    public ILogger CreateLogger(string categoryName) => new RingLogger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Forgets everything logged so far (each run starts clean).</summary>
    public void Clear() => lines.Clear();

    /// <summary>Writes what is kept to <paramref name="path"/>.</summary>
    public void WriteTo(string path) => File.WriteAllLines(path, lines.ToArray());

    private void Add(string line)
    {
        lines.Enqueue(line);
        while (lines.Count > Capacity && lines.TryDequeue(out _))
        {
        }
    }

    private sealed class RingLogger(LogRing ring, string category) : ILogger
    {
        private readonly LogLevel least = category.StartsWith("DurableJobs", StringComparison.Ordinal) ? LogLevel.Debug : LogLevel.Information;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= least;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string time = DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
            ring.Add($"{time} [{Environment.CurrentManagedThreadId}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : " | " + exception.GetType().Name + ": " + exception.Message)}");
        }
    }
}
