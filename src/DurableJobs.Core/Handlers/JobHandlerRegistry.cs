using System.Reflection;
using System.Text.Json;
using DurableJobs.Core.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// The job types a host can run, by name (case-sensitive), and how each is activated: a handler class created from
/// the dependency-injection scope of the attempt (so it can take scoped services: a <c>DbContext</c>, an
/// <c>HttpClient</c> from a factory, a logger), or one shared instance. Built while the container is configured;
/// read-only once jobs run.
/// </summary>
public sealed class JobHandlerRegistry
{
    /// <summary>The invoker of each job type.</summary>
    private readonly Dictionary<string, JobInvoker> invokers = new(StringComparer.Ordinal);

    /// <summary>Runs one attempt of a job: resolves the handler from the services, binds the payload, serialises the output.</summary>
    private delegate ValueTask<JsonElement?> JobInvoker(IServiceProvider services, JobContext context, JsonElement payload, CancellationToken cancellationToken);

    /// <summary>The registered type names.</summary>
    public IReadOnlyCollection<string> Types => invokers.Keys;

    /// <summary>The names of the built-in handlers, for samples and tests: <c>delay</c>, <c>fail</c>, <c>hash</c>, <c>echo</c>.</summary>
    public static IReadOnlyList<string> BuiltInTypes { get; } = ["delay", "fail", "hash", "echo"];

    /// <summary>A registry holding only the built-in handlers.</summary>
    public static JobHandlerRegistry CreateWithBuiltIns() => new JobHandlerRegistry().AddBuiltIns();

    /// <summary>Adds the built-in handlers (<see cref="BuiltInTypes"/>). Production apps normally do not.</summary>
    public JobHandlerRegistry AddBuiltIns() =>
        Add<DelayJobHandler>("delay").Add<FailJobHandler>("fail").Add<HashJobHandler>("hash").Add<EchoJobHandler>("echo");

    /// <summary>
    /// Adds <typeparamref name="THandler"/> for jobs of <paramref name="type"/>: it implements <see cref="IJobHandler"/> or
    /// <see cref="IJobHandler{TPayload, TResult}"/> (one of them), and is resolved from the attempt's scope (created
    /// with its constructor's services when it is not registered itself).
    /// </summary>
    /// <exception cref="ArgumentException">The type name is taken or invalid, or the class implements neither interface.</exception>
    public JobHandlerRegistry Add<THandler>(string type)
        where THandler : class => Add(type, typeof(THandler));

    /// <summary>The non-generic form of <see cref="Add{THandler}(string)"/>.</summary>
    public JobHandlerRegistry Add(string type, Type handlerType)
    {
        ArgumentNullException.ThrowIfNull(handlerType);
        return Add(type, CreateInvoker(handlerType));
    }

    /// <summary>Adds one shared <paramref name="handler"/> instance for jobs of <paramref name="type"/> (it must be thread-safe).</summary>
    public JobHandlerRegistry Add(string type, IJobHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(type, (_, context, payload, token) => handler.ExecuteAsync(context, payload, token));
    }

    /// <summary>True when <paramref name="type"/> has a handler.</summary>
    public bool Contains(string type) => invokers.ContainsKey(type);

    /// <summary>
    /// Runs one attempt of a job of <paramref name="type"/> with its handler resolved from <paramref name="services"/>
    /// (the attempt's scope).
    /// </summary>
    /// <exception cref="KeyNotFoundException">No handler has that type.</exception>
    /// <exception cref="JobPayloadException">A typed handler's payload does not bind.</exception>
    public ValueTask<JsonElement?> InvokeAsync(IServiceProvider services, string type, JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        return invokers.TryGetValue(type, out JobInvoker? invoker)
            ? invoker(services, context, payload, cancellationToken)
            : throw new KeyNotFoundException($"No handler is registered for job type '{type}'.");
    }

    private JobHandlerRegistry Add(string type, JobInvoker invoker)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        if (type.Length > 128 || type.Any(char.IsControl))
        {
            throw new ArgumentException($"Job type '{type}' is not a valid name: at most 128 characters, no control characters.", nameof(type));
        }

        if (!invokers.TryAdd(type, invoker))
        {
            throw new ArgumentException($"A handler for job type '{type}' is already registered.", nameof(type));
        }

        return this;
    }

    private static JobInvoker CreateInvoker(Type handlerType)
    {
        if (handlerType.IsAbstract || handlerType.IsInterface)
        {
            throw new ArgumentException($"{handlerType} is not a concrete class.", nameof(handlerType));
        }

        bool untyped = typeof(IJobHandler).IsAssignableFrom(handlerType);
        Type[] typed = handlerType.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IJobHandler<,>)).ToArray();
        if (untyped == (typed.Length > 0) || typed.Length > 1)
        {
            throw new ArgumentException(
                $"{handlerType} must implement exactly one of IJobHandler and IJobHandler<TPayload, TResult>.", nameof(handlerType));
        }

        if (untyped)
        {
            return (services, context, payload, token) =>
                ((IJobHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, handlerType)).ExecuteAsync(context, payload, token);
        }

        // One generic method per (payload, result) pair, bound once here: no reflection per job.
        MethodInfo method = typeof(JobHandlerRegistry).GetMethod(nameof(InvokeTypedAsync), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(handlerType, typed[0].GetGenericArguments()[0], typed[0].GetGenericArguments()[1]);
        return method.CreateDelegate<JobInvoker>();
    }

    private static async ValueTask<JsonElement?> InvokeTypedAsync<THandler, TPayload, TResult>(
        IServiceProvider services, JobContext context, JsonElement payload, CancellationToken cancellationToken)
        where THandler : IJobHandler<TPayload, TResult>
    {
        TPayload bound = JobPayloadBinder.Bind<TPayload>(payload);
        var handler = (THandler)ActivatorUtilities.GetServiceOrCreateInstance(services, typeof(THandler));
        TResult result = await handler.ExecuteAsync(context, bound, cancellationToken).ConfigureAwait(false);
        return result is null ? null : JsonSerializer.SerializeToElement(result, DurableJobsJson.Options);
    }
}
