using DurableJobs.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// The named limits' HTTP API under Azure Functions, over the shared <see cref="LimitHttpApi"/>: the limits live in
/// their table rows, not in the engine, so these triggers need no durable client.
/// </summary>
public sealed class LimitFunctions
{
    private readonly LimitHttpApi api;
    private readonly LimitTimelineRecorder timeline;

    /// <summary>
    /// Creates the functions from the app's container (Functions activates them with a public constructor; the services
    /// behind them are internal, so they are taken from the container rather than named here).
    /// </summary>
    public LimitFunctions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        api = services.GetRequiredService<LimitHttpApi>();
        timeline = services.GetRequiredService<LimitTimelineRecorder>();
    }

    /// <summary><c>GET /api/limits</c>.</summary>
    [Function("ListLimits")]
    public Task<IResult> ListLimits(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "limits")] HttpRequest request, CancellationToken cancellationToken) =>
        api.ListAsync(cancellationToken);

    /// <summary><c>PUT /api/limits/{name}</c>.</summary>
    [Function("SetLimit")]
    public Task<IResult> SetLimit(
        [HttpTrigger(AuthorizationLevel.Function, "put", Route = "limits/{name}")] HttpRequest request, string name, CancellationToken cancellationToken) =>
        api.SetAsync(request, name, cancellationToken);

    /// <summary><c>GET /api/limits/{name}/timeline</c> (sampled by the instance that answers, see <see cref="LimitTimelineRecorder"/>).</summary>
    [Function("GetLimitTimeline")]
    public Task<IResult> GetLimitTimeline(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "limits/{name}/timeline")] HttpRequest request, string name, CancellationToken cancellationToken) =>
        timeline.GetAsync(name, cancellationToken);
}
