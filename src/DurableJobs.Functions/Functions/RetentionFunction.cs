using DurableJobs.Engine.Retention;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// Retention under Azure Functions (<c>DurableJobs:Retention</c>): every 5 minutes, the same sweep the embedded workers
/// run, under the same lease, so a Functions app and embedded workers on one hub never sweep at once. With retention off
/// (the default) a round does nothing.
/// </summary>
public sealed class RetentionFunction
{
    private readonly RetentionSweeper sweeper;
    private readonly BatchClientFactory clients;

    /// <summary>Creates the function from the app's container (its services are internal, so they are taken from it).</summary>
    public RetentionFunction(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        sweeper = services.GetRequiredService<RetentionSweeper>();
        clients = services.GetRequiredService<BatchClientFactory>();
    }

    /// <summary>One sweep: deletes the finished batches past their period.</summary>
    [Function("RetentionSweep")]
    public Task RetentionSweep([TimerTrigger("0 */5 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        sweeper.TrySweepAsync(clients.Create(durable), cancellationToken);
}
