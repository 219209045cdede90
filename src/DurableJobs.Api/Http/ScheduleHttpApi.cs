using DurableJobs.Api.Parsing;
using DurableJobs.Api.Responses;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Schedules;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Http;

/// <summary>
/// The schedules' HTTP API (<c>/api/schedules…</c>), written once for the embedded host and the Functions app like
/// <see cref="BatchHttpApi"/>: errors are <c>application/problem+json</c>, and a schedule that fails any check (cron,
/// time zone, template, dates, a schedule that never fires) is answered 400 naming the field, with nothing stored.
/// </summary>
internal sealed class ScheduleHttpApi
{
    private readonly ApiOptions options;
    private readonly ILogger<ScheduleHttpApi> logger;

    /// <summary>Creates the API.</summary>
    public ScheduleHttpApi(ApiOptions options, ILogger<ScheduleHttpApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        this.options = options;
        this.logger = logger;
    }

    /// <summary><c>PUT /api/schedules/{name}</c> with a <see cref="ScheduleDefinition"/>: 201 when created, 200 when updated (from its next occurrence).</summary>
    public async Task<IResult> SetAsync(HttpRequest request, string name, IScheduleClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (BatchHttpApi.CheckContentType(request.ContentType) is { } unsupported)
        {
            return unsupported.ToResult();
        }

        (ReadOnlyMemory<byte> body, ApiError? unreadable) = await BatchHttpApi.ReadBodyAsync(request, options.MaxRequestBodyBytes, "DurableJobs:Api:MaxRequestBodyBytes", cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable.ToResult();
        }

        (ScheduleDefinition? definition, ApiError? parseError) = BatchRequestParser.ParseAs<ScheduleDefinition>(body, "a JSON object describing a schedule");
        if (parseError is not null)
        {
            return parseError.ToResult();
        }

        ScheduleSetOutcome outcome = await client.SetAsync(name, definition, cancellationToken).ConfigureAwait(false);
        if (!outcome.Accepted)
        {
            return BatchHttpApi.ValidationError(outcome.Validation, "The schedule is invalid.").ToResult();
        }

        logger.LogInformation(outcome.Created ? "Schedule {Schedule} created over HTTP" : "Schedule {Schedule} updated over HTTP", name);
        Uri location = ScheduleUri(request, name);
        var accepted = new ScheduleAccepted { Name = name, Created = outcome.Created, ScheduleGetUri = location };
        return new BatchHttpApi.JsonResult(accepted, outcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, location);
    }

    /// <summary><c>GET /api/schedules/{name}</c>: the <see cref="ScheduleView"/> with its runs and their outcomes, or 404.</summary>
    public async Task<IResult> GetAsync(string name, IScheduleClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ScheduleView? view = IsPossibleName(name) ? await client.GetAsync(name, cancellationToken).ConfigureAwait(false) : null;
        return view is null ? NotFound(name).ToResult() : new BatchHttpApi.JsonResult(view, StatusCodes.Status200OK);
    }

    /// <summary><c>GET /api/schedules</c>: every schedule, by name.</summary>
    public async Task<IResult> ListAsync(IScheduleClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new BatchHttpApi.JsonResult(new ScheduleList { Items = await client.ListAsync(cancellationToken).ConfigureAwait(false) }, StatusCodes.Status200OK);
    }

    /// <summary><c>DELETE /api/schedules/{name}</c>: 204, or 404. Batches it started run on.</summary>
    public async Task<IResult> DeleteAsync(string name, IScheduleClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ScheduleCommandOutcome outcome = IsPossibleName(name) ? await client.DeleteAsync(name, cancellationToken).ConfigureAwait(false) : ScheduleCommandOutcome.NotFound;
        return outcome == ScheduleCommandOutcome.NotFound ? NotFound(name).ToResult() : TypedResults.NoContent();
    }

    /// <summary>
    /// <c>POST /api/schedules/{name}/pause|resume|trigger</c> with a JSON body (<c>{}</c>): 202, or 404. JSON only, like a
    /// batch cancel, so no HTML form on another site can post it to a keyless local host.
    /// </summary>
    public async Task<IResult> CommandAsync(HttpRequest request, string name, ScheduleCommandKind kind, IScheduleClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (BatchHttpApi.CheckContentType(request.ContentType) is { } unsupported)
        {
            return unsupported.ToResult();
        }

        if (!IsPossibleName(name))
        {
            return NotFound(name).ToResult();
        }

        ScheduleCommandOutcome outcome = kind switch
        {
            ScheduleCommandKind.Pause => await client.PauseAsync(name, cancellationToken).ConfigureAwait(false),
            ScheduleCommandKind.Resume => await client.ResumeAsync(name, cancellationToken).ConfigureAwait(false),
            ScheduleCommandKind.Trigger => await client.TriggerAsync(name, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only pause, resume and trigger are posted."),
        };
        if (outcome == ScheduleCommandOutcome.NotFound)
        {
            return NotFound(name).ToResult();
        }

        logger.LogInformation("Schedule {Schedule}: {Command} accepted over HTTP", name, kind);
        return new BatchHttpApi.JsonResult(new ScheduleCommandAccepted { Name = name, Command = kind }, StatusCodes.Status202Accepted, ScheduleUri(request, name));
    }

    private static bool IsPossibleName(string? name) =>
        name is { Length: > 0 and <= ScheduleCalendar.MaxNameLength } && BatchValidator.IsValidId(name);

    private static ApiError NotFound(string? name) =>
        new(StatusCodes.Status404NotFound, ApiErrorCodes.ScheduleNotFound, "The schedule does not exist.", $"No schedule has the name '{name}'.");

    private static Uri ScheduleUri(HttpRequest request, string name) =>
        new($"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}/{ApiOptions.RoutePrefix}/schedules/{Uri.EscapeDataString(name)}");
}
