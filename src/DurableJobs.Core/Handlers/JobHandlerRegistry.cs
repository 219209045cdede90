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
internal sealed class JobHandlerRegistry
{
    /// <summary>The invoker of each job type.</summary>
    private readonly Dictionary<string, JobInvoker> invokers = new(StringComparer.Ordinal);

    /// <summary>The submission-time payload check of each job type that has one.</summary>
    private readonly Dictionary<string, PayloadCheck> checks = new(StringComparer.Ordinal);

    /// <summary>Runs one attempt of a job: resolves the handler from the services, binds the payload, serialises the output.</summary>
    private delegate ValueTask<JsonElement?> JobInvoker(IServiceProvider services, JobContext context, JsonElement payload, CancellationToken cancellationToken);

    /// <summary>Checks a payload at submission; throws <see cref="JobPayloadException"/>.</summary>
    private delegate void PayloadCheck(IServiceProvider services, JsonElement payload);

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
        (JobInvoker invoker, PayloadCheck? check) = Activation(handlerType);
        return Add(type, invoker, check);
    }

    /// <summary>Adds one shared <paramref name="handler"/> instance for jobs of <paramref name="type"/> (it must be thread-safe).</summary>
    public JobHandlerRegistry Add(string type, IJobHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(type, (_, context, payload, token) => handler.ExecuteAsync(context, payload, token), (_, payload) => handler.ValidatePayload(payload));
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

    /// <summary>
    /// Checks a job's payload at submission, so what its handler would refuse is refused with the batch: a typed
    /// handler's payload is bound and validated as before an attempt; an untyped handler that implements
    /// <see cref="IJobHandler.ValidatePayload"/> is created from <paramref name="services"/> and asked.
    /// </summary>
    /// <exception cref="JobPayloadException">The payload does not fit (its <see cref="JobPayloadException.Field"/> names the field).</exception>
    /// <exception cref="KeyNotFoundException">No handler has that type.</exception>
    public void ValidatePayload(IServiceProvider services, string type, JsonElement payload)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!invokers.ContainsKey(type))
        {
            throw new KeyNotFoundException($"No handler is registered for job type '{type}'.");
        }

        if (checks.TryGetValue(type, out PayloadCheck? check))
        {
            check(services, payload);
        }
    }

    private JobHandlerRegistry Add(string type, JobInvoker invoker, PayloadCheck? check)
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

        if (check is not null)
        {
            checks.Add(type, check);
        }

        return this;
    }

    private static (JobInvoker Invoker, PayloadCheck? Check) Activation(Type handlerType)
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
            // Created for the check only when the class has a check of its own: an API-only host need not be able to
            // build a handler whose dependencies only workers have.
            bool checks = handlerType.GetInterfaceMap(typeof(IJobHandler)).TargetMethods.Any(m => m.Name.EndsWith(nameof(IJobHandler.ValidatePayload), StringComparison.Ordinal) && m.DeclaringType == handlerType);
            return (
                (services, context, payload, token) => ((IJobHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, handlerType)).ExecuteAsync(context, payload, token),
                checks ? (services, payload) => ((IJobHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, handlerType)).ValidatePayload(payload) : null);
        }

        // One generic method per (payload, result) pair, bound once here: no reflection per job.
        Type[] arguments = typed[0].GetGenericArguments();
        MethodInfo invoke = typeof(JobHandlerRegistry).GetMethod(nameof(InvokeTypedAsync), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(handlerType, arguments[0], arguments[1]);
        MethodInfo bind = typeof(JobHandlerRegistry).GetMethod(nameof(CheckTyped), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(arguments[0]);
        return (invoke.CreateDelegate<JobInvoker>(), bind.CreateDelegate<PayloadCheck>());
    }

    private static void CheckTyped<TPayload>(IServiceProvider services, JsonElement payload) => JobPayloadBinder.Bind<TPayload>(payload);

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
