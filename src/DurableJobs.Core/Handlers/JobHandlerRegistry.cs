using System.Diagnostics.CodeAnalysis;

namespace DurableJobs.Core.Handlers;

/// <summary>The job handlers a host can run, by type name (case-sensitive).</summary>
public sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, IJobHandler> handlers = new(StringComparer.Ordinal);

    /// <summary>The registered type names.</summary>
    public IReadOnlyCollection<string> Types => handlers.Keys;

    /// <summary>A registry holding the built-in handlers: <c>delay</c>, <c>fail</c>, <c>hash</c> and <c>echo</c>.</summary>
    public static JobHandlerRegistry CreateWithBuiltIns() =>
        new JobHandlerRegistry()
            .Register(new DelayJobHandler())
            .Register(new FailJobHandler())
            .Register(new HashJobHandler())
            .Register(new EchoJobHandler());

    /// <summary>Adds a handler.</summary>
    /// <exception cref="ArgumentException">A handler of the same type is already registered.</exception>
    public JobHandlerRegistry Register(IJobHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentException.ThrowIfNullOrWhiteSpace(handler.Type, nameof(handler));
        if (!handlers.TryAdd(handler.Type, handler))
        {
            throw new ArgumentException($"A handler for job type '{handler.Type}' is already registered.", nameof(handler));
        }

        return this;
    }

    /// <summary>True when <paramref name="type"/> has a handler.</summary>
    public bool Contains(string type) => handlers.ContainsKey(type);

    /// <summary>The handler for <paramref name="type"/>, when one is registered.</summary>
    public bool TryGet(string type, [NotNullWhen(true)] out IJobHandler? handler) => handlers.TryGetValue(type, out handler);

    /// <summary>The handler for <paramref name="type"/>.</summary>
    /// <exception cref="KeyNotFoundException">No handler has that type.</exception>
    public IJobHandler Get(string type) =>
        handlers.TryGetValue(type, out IJobHandler? handler)
            ? handler
            : throw new KeyNotFoundException($"No handler is registered for job type '{type}'.");
}
