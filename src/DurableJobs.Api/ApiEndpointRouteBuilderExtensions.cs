using DurableJobs.Api.Http;
using DurableJobs.Client;
using DurableJobs.Client.Schedules;
using DurableJobs.Orchestration.Schedules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Api;

/// <summary>Maps the shared HTTP API onto an ASP.NET Core app (the embedded host).</summary>
public static class ApiEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every route under <c>/api</c> to <see cref="BatchHttpApi"/>, with <see cref="BatchClient"/> from
    /// the container. The Azure Functions app declares the same routes on its HTTP triggers.
    /// </summary>
    public static RouteGroupBuilder MapDurableJobsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder api = endpoints.MapGroup("/" + ApiOptions.RoutePrefix);
        api.MapPost("/batches", (HttpRequest request, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.SubmitAsync(request, client, ct));
        api.MapGet("/batches", (HttpRequest request, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.ListAsync(request, client, ct));
        api.MapGet("/batches/{id}", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.GetAsync(request, id, client, ct));
        api.MapDelete("/batches/{id}", (string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.DeleteAsync(id, client, ct));
        api.MapPatch("/batches/{id}", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.PatchAsync(request, id, client, ct));
        api.MapGet("/batches/{id}/jobs", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.GetJobsAsync(request, id, client, ct));
        api.MapGet("/batches/{id}/timeline", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.GetTimelineAsync(request, id, client, ct));
        api.MapPost("/batches/{id}/cancel", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.CancelAsync(request, id, client, ct));
        api.MapPost("/batches/{id}/pause", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.ControlAsync(request, id, BatchHttpApi.Control.Pause, client, ct));
        api.MapPost("/batches/{id}/rerun", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.RerunAsync(request, id, client, ct));
        api.MapPost("/batches/{id}/resume", (HttpRequest request, string id, BatchHttpApi http, BatchClient client, CancellationToken ct) => http.ControlAsync(request, id, BatchHttpApi.Control.Resume, client, ct));

        api.MapPut("/schedules/{name}", (HttpRequest request, string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.SetAsync(request, name, client, ct));
        api.MapGet("/schedules", (ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.ListAsync(client, ct));
        api.MapGet("/schedules/{name}", (string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.GetAsync(name, client, ct));
        api.MapDelete("/schedules/{name}", (string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.DeleteAsync(name, client, ct));
        api.MapPost("/schedules/{name}/pause", (HttpRequest request, string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.CommandAsync(request, name, ScheduleCommandKind.Pause, client, ct));
        api.MapPost("/schedules/{name}/resume", (HttpRequest request, string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.CommandAsync(request, name, ScheduleCommandKind.Resume, client, ct));
        api.MapPost("/schedules/{name}/trigger", (HttpRequest request, string name, ScheduleHttpApi http, IScheduleClient client, CancellationToken ct) => http.CommandAsync(request, name, ScheduleCommandKind.Trigger, client, ct));

        // The client is resolved inside the probe: before the engine has started, resolving it fails, and that is a 503.
        api.MapGet("/limits", (LimitHttpApi http, CancellationToken ct) => http.ListAsync(ct));
        api.MapPut("/limits/{name}", (HttpRequest request, string name, LimitHttpApi http, CancellationToken ct) => http.SetAsync(request, name, ct));
        api.MapGet("/limits/{name}/timeline", (string name, LimitTimelineRecorder timeline, CancellationToken ct) => timeline.GetAsync(name, ct));
        api.MapGet("/healthz", (HttpRequest request, BatchHttpApi http, IServiceProvider services, CancellationToken ct) =>
            http.HealthAsync(request, services.GetRequiredService<BatchClient>, ct));
        return api;
    }
}
