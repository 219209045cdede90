using DurableJobs.Host.Cli;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Tests;

/// <summary><c>run</c>'s log filter: the states and scopes are the real ones the engine's loggers produce.</summary>
public sealed class OwnBatchLogsTests
{
    private static readonly Func<ILogger, string, int, IDisposable?> ChunkScope = LoggerMessage.DefineScope<string, int>("BatchId:{BatchId} Chunk:{ChunkStart}");

    [Fact]
    public void Before_its_batch_is_known_run_shows_entries_naming_no_batch_and_none_naming_a_batch()
    {
        var logs = new OwnBatchLogs();
        var scopes = new LoggerExternalScopeProvider();

        Assert.True(logs.Shows(State(l => l.LogWarning("Could not read batch cancel signals (round {Rounds})", 1)), scopes));
        Assert.False(logs.Shows(State(l => l.LogWarning("Batch {BatchId} stopping: {Reason}", "earlier", "TimedOut")), scopes));
    }

    [Fact]
    public void Run_shows_its_own_batch_and_drops_another_named_in_the_message_or_in_a_scope()
    {
        var logs = new OwnBatchLogs();
        logs.Show("mine");
        var scopes = new LoggerExternalScopeProvider();

        Assert.True(logs.Shows(State(l => l.LogWarning("Batch {BatchId} stopping: {Reason}", "mine", "Cancelled")), scopes));
        Assert.False(logs.Shows(State(l => l.LogWarning("Batch {BatchId} stopping: {Reason}", "other", "TimedOut")), scopes));

        using (scopes.Push(ScopeState("other", 0)))
        {
            Assert.False(logs.Shows(State(l => l.LogWarning("Chunk failed")), scopes));
        }

        using (scopes.Push(ScopeState("mine", 0)))
        {
            Assert.True(logs.Shows(State(l => l.LogWarning("Chunk failed")), scopes));
        }
    }

    private static object? State(Action<ILogger> log)
    {
        var logger = new Capture();
        log(logger);
        return logger.State;
    }

    private static object ScopeState(string batchId, int start)
    {
        var logger = new Capture();
        using IDisposable? scope = ChunkScope(logger, batchId, start);
        return logger.State!;
    }

    /// <summary>Keeps the state object a logging call hands its logger.</summary>
    private sealed class Capture : ILogger
    {
        public object? State { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            State = state;
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => State = state;
    }
}
