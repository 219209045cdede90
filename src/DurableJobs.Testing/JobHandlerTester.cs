using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Testing;

/// <summary>
/// Runs one handler as a worker would, without any storage: the payload goes through the same binding and validation
/// (so a payload that does not bind throws the same <see cref="JobPayloadException"/>), the handler is created from a
/// fresh dependency-injection scope of the services you give, and the output comes back as the job's JSON.
/// </summary>
public static class JobHandlerTester
{
    /// <summary>Runs <typeparamref name="THandler"/> once on <paramref name="payload"/> (an object serialised to JSON, or a <see cref="JsonElement"/>).</summary>
    /// <param name="payload">The job's payload.</param>
    /// <param name="services">Registers what the handler's constructor takes.</param>
    /// <param name="context">Which job and attempt this is; a job <c>test/job</c>, attempt 1, by default.</param>
    /// <param name="cancellationToken">The job's token: cancel it to test how the handler stops.</param>
    /// <returns>The job's output as it would be stored.</returns>
    public static async Task<JsonElement?> RunAsync<THandler>(
        object? payload, Action<IServiceCollection>? services = null, JobContext? context = null, CancellationToken cancellationToken = default)
        where THandler : class
    {
        JobHandlerRegistry registry = new JobHandlerRegistry().Add<THandler>("test");
        var collection = new ServiceCollection();
        collection.AddLogging();
        collection.AddScoped<THandler>();
        services?.Invoke(collection);
        await using ServiceProvider provider = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        await using AsyncServiceScope scope = provider.CreateAsyncScope();
        JsonElement json = payload is JsonElement element ? element : JsonSerializer.SerializeToElement(payload, DurableJobsJson.Options);
        return await registry.InvokeAsync(scope.ServiceProvider, "test", context ?? new JobContext("test", "job", 1), json, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="RunAsync{THandler}"/>, with the output read back as <typeparamref name="TResult"/>.</summary>
    public static async Task<TResult?> RunAsync<THandler, TResult>(
        object? payload, Action<IServiceCollection>? services = null, JobContext? context = null, CancellationToken cancellationToken = default)
        where THandler : class
    {
        JsonElement? output = await RunAsync<THandler>(payload, services, context, cancellationToken).ConfigureAwait(false);
        return output is { } json ? json.Deserialize<TResult>(DurableJobsJson.Options) : default;
    }
}
