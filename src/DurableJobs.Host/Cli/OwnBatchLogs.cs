using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace DurableJobs.Host.Cli;

/// <summary>
/// Keeps <c>run</c>'s console to its own batch. The embedded engine is a worker of the whole task hub, so it also runs
/// the other batches of the folder (an earlier <c>serve</c>'s, a <c>run</c> that quit at once), and their warnings
/// printed over the progress view. An entry names its batch by a <c>BatchId</c> in its message or a scope; one that
/// names another batch is dropped, one that names none (storage trouble, the engine itself) still shows.
/// </summary>
internal sealed class OwnBatchLogs
{
    private const string BatchIdKey = "BatchId";
    private volatile string? shown;

    /// <summary>From now on, entries about <paramref name="batchId"/> show; until then, no batch's do.</summary>
    public void Show(string batchId) => shown = batchId;

    /// <summary>Puts this filter in front of the console provider <paramref name="logging"/> has registered.</summary>
    public void FilterConsole(ILoggingBuilder logging)
    {
        ServiceDescriptor console = logging.Services.Single(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        logging.Services.Remove(console);
        logging.Services.AddSingleton<ILoggerProvider>(sp => new Provider(this, ActivatorUtilities.CreateInstance<ConsoleLoggerProvider>(sp)));
    }

    /// <summary>True when an entry with <paramref name="state"/>, in <paramref name="scopes"/>, may show.</summary>
    internal bool Shows(object? state, IExternalScopeProvider? scopes)
    {
        string? batchId = BatchOf(state);
        if (batchId is null && scopes is not null)
        {
            var found = new StrongBox<string?>();
            scopes.ForEachScope((scope, box) => box.Value ??= BatchOf(scope), found);
            batchId = found.Value;
        }

        return batchId is null || string.Equals(batchId, shown, StringComparison.Ordinal);
    }

    private static string? BatchOf(object? state) =>
        state is IEnumerable<KeyValuePair<string, object?>> values
            ? values.FirstOrDefault(v => v.Key == BatchIdKey).Value?.ToString()
            : null;

    private sealed class Provider(OwnBatchLogs filter, ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
    {
        // The scopes are the factory's, shared by every provider: the console writes them, the filter reads them.
        private IExternalScopeProvider? scopes;

        public ILogger CreateLogger(string categoryName) => new Logger(this, inner.CreateLogger(categoryName));

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
            scopes = scopeProvider;
            (inner as ISupportExternalScope)?.SetScopeProvider(scopeProvider);
        }

        public void Dispose() => inner.Dispose();

        private bool Shows(object? state) => filter.Shows(state, scopes);

        private sealed class Logger(Provider owner, ILogger inner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => inner.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (inner.IsEnabled(logLevel) && owner.Shows(state))
                {
                    inner.Log(logLevel, eventId, state, exception, formatter);
                }
            }
        }
    }
}
