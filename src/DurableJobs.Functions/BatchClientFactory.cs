using DurableJobs.Client;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions;

/// <summary>
/// Makes a <see cref="BatchClient"/> over the <see cref="DurableTaskClient"/> that Functions binds per invocation
/// (<c>[DurableClient]</c>); everything else the client needs comes from the app's container.
/// </summary>
internal sealed class BatchClientFactory
{
    private readonly IServiceProvider services;

    /// <summary>Creates the factory.</summary>
    public BatchClientFactory(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        this.services = services;
    }

    /// <summary>A client over <paramref name="durable"/>.</summary>
    public BatchClient Create(DurableTaskClient durable)
    {
        ArgumentNullException.ThrowIfNull(durable);
        return BatchClient.Create(durable, services);
    }
}
