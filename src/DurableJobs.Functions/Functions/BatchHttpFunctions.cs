using DurableJobs.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// The HTTP API under Azure Functions: each trigger hands its request to the shared <see cref="BatchHttpApi"/>
/// with a client over the bound <see cref="DurableTaskClient"/>. Routes sit under host.json's <c>api</c> prefix.
/// </summary>
public sealed class BatchHttpFunctions
{
    private readonly BatchHttpApi api;
    private readonly BatchClientFactory clients;

    /// <summary>
    /// Creates the functions from the app's container (Functions activates them with a public constructor; the
    /// services they use are internal, so they are taken from the container rather than named here).
    /// </summary>
    public BatchHttpFunctions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        api = services.GetRequiredService<BatchHttpApi>();
        clients = services.GetRequiredService<BatchClientFactory>();
    }

    /// <summary><c>POST /api/batches</c>.</summary>
    [Function("SubmitBatch")]
    public Task<IResult> SubmitBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.SubmitAsync(request, clients.Create(durable), cancellationToken);

    /// <summary><c>GET /api/batches</c>.</summary>
    [Function("ListBatches")]
    public Task<IResult> ListBatches(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "batches")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.ListAsync(request, clients.Create(durable), cancellationToken);

    /// <summary><c>GET /api/batches/{id}</c>.</summary>
    [Function("GetBatch")]
    public Task<IResult> GetBatch(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "batches/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.GetAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>GET /api/batches/{id}/jobs</c>.</summary>
    [Function("GetBatchJobs")]
    public Task<IResult> GetBatchJobs(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "batches/{id}/jobs")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.GetJobsAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>GET /api/batches/{id}/timeline</c>.</summary>
    [Function("GetBatchTimeline")]
    public Task<IResult> GetBatchTimeline(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "batches/{id}/timeline")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.GetTimelineAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>POST /api/batches/{id}/cancel</c>.</summary>
    [Function("CancelBatch")]
    public Task<IResult> CancelBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches/{id}/cancel")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.CancelAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>DELETE /api/batches/{id}</c>.</summary>
    [Function("DeleteBatch")]
    public Task<IResult> DeleteBatch(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "batches/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.DeleteAsync(id, clients.Create(durable), cancellationToken);

    /// <summary><c>POST /api/batches/{id}/pause</c>.</summary>
    [Function("PauseBatch")]
    public Task<IResult> PauseBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches/{id}/pause")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.ControlAsync(request, id, BatchHttpApi.Control.Pause, clients.Create(durable), cancellationToken);

    /// <summary><c>PATCH /api/batches/{id}</c>.</summary>
    [Function("PatchBatch")]
    public Task<IResult> PatchBatch(
        [HttpTrigger(AuthorizationLevel.Function, "patch", Route = "batches/{id}")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.PatchAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>POST /api/batches/{id}/rerun</c>.</summary>
    [Function("RerunBatch")]
    public Task<IResult> RerunBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches/{id}/rerun")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.RerunAsync(request, id, clients.Create(durable), cancellationToken);

    /// <summary><c>POST /api/batches/{id}/resume</c>.</summary>
    [Function("ResumeBatch")]
    public Task<IResult> ResumeBatch(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches/{id}/resume")] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.ControlAsync(request, id, BatchHttpApi.Control.Resume, clients.Create(durable), cancellationToken);

    /// <summary><c>GET /api/healthz</c>.</summary>
    [Function("Health")]
    public Task<IResult> Health(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "healthz")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        api.HealthAsync(request, () => clients.Create(durable), cancellationToken);
}
