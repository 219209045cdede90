using System.Text.Json;
using DurableJobs.Api.Http;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Schedules;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// Schedules under Azure Functions: the schedule orchestrator and its two activities (thin wrappers over the classes the
/// embedded engine runs, with clients over the bound <see cref="DurableTaskClient"/>) and the <c>/api/schedules…</c>
/// HTTP triggers over the shared <see cref="ScheduleHttpApi"/>.
/// </summary>
public sealed class ScheduleFunctions
{
    private readonly ScheduleHttpApi api;
    private readonly BatchClientFactory clients;
    private readonly ScheduleValidator validator;
    private readonly TimeProvider time;

    /// <summary>
    /// Creates the functions from the app's container (Functions activates them with a public constructor; the services
    /// behind them are internal, so they are taken from the container rather than named here).
    /// </summary>
    public ScheduleFunctions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        api = services.GetRequiredService<ScheduleHttpApi>();
        clients = services.GetRequiredService<BatchClientFactory>();
        validator = services.GetRequiredService<ScheduleValidator>();
        time = services.GetService<TimeProvider>() ?? TimeProvider.System;
    }

    /// <summary>The eternal orchestration of one schedule (its state is an internal wire type, returned as an object).</summary>
    [Function(ScheduleNames.Orchestrator)]
    public static async Task<object> RunSchedule([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await new ScheduleOrchestrator().RunAsync(context, context.GetInput<ScheduleState>()!).ConfigureAwait(false);
    }

    /// <summary>Starts an occurrence's batch under its deterministic id (input as JSON, output as an object: internal wire types).</summary>
    [Function(ScheduleNames.StartBatchActivity)]
    public async Task<object> StartScheduledBatch([ActivityTrigger] JsonElement start, [DurableClient] DurableTaskClient durable) =>
        await new StartScheduledBatchActivity(clients.Create(durable), time)
            .StartAsync(start.Deserialize<ScheduledBatchStart>(DurableJobsJson.Options) ?? throw new InvalidOperationException("The activity input is not a ScheduledBatchStart."))
            .ConfigureAwait(false);

    /// <summary>Which of a schedule's batches still run.</summary>
    [Function(ScheduleNames.RunningBatchesActivity)]
    public Task<List<string>> FindRunningBatches([ActivityTrigger] List<string> batchIds, [DurableClient] DurableTaskClient durable) =>
        new FindRunningBatchesActivity(clients.Create(durable)).FindAsync(batchIds);

    /// <summary><c>PUT /api/schedules/{name}</c>.</summary>
    [Function("SetSchedule")]
    public Task<IResult> SetSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "put", Route = "schedules/{name}")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.SetAsync(request, name, Create(durable), cancellationToken);

    /// <summary><c>GET /api/schedules</c>.</summary>
    [Function("ListSchedules")]
    public Task<IResult> ListSchedules(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "schedules")] HttpRequest request,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.ListAsync(Create(durable), cancellationToken);

    /// <summary><c>GET /api/schedules/{name}</c>.</summary>
    [Function("GetSchedule")]
    public Task<IResult> GetSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "schedules/{name}")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.GetAsync(name, Create(durable), cancellationToken);

    /// <summary><c>DELETE /api/schedules/{name}</c>.</summary>
    [Function("DeleteSchedule")]
    public Task<IResult> DeleteSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = "schedules/{name}")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.DeleteAsync(name, Create(durable), cancellationToken);

    /// <summary><c>POST /api/schedules/{name}/pause</c>.</summary>
    [Function("PauseSchedule")]
    public Task<IResult> PauseSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "schedules/{name}/pause")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.CommandAsync(request, name, ScheduleCommandKind.Pause, Create(durable), cancellationToken);

    /// <summary><c>POST /api/schedules/{name}/resume</c>.</summary>
    [Function("ResumeSchedule")]
    public Task<IResult> ResumeSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "schedules/{name}/resume")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.CommandAsync(request, name, ScheduleCommandKind.Resume, Create(durable), cancellationToken);

    /// <summary><c>POST /api/schedules/{name}/trigger</c>.</summary>
    [Function("TriggerSchedule")]
    public Task<IResult> TriggerSchedule(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "schedules/{name}/trigger")] HttpRequest request, string name,
        [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        api.CommandAsync(request, name, ScheduleCommandKind.Trigger, Create(durable), cancellationToken);

    private ScheduleClient Create(DurableTaskClient durable) => new(durable, clients.Create(durable), validator, time);
}
