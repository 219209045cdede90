using System.Diagnostics;
using System.Globalization;
using DurableJobs.Api.Parsing;
using DurableJobs.Api.Responses;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace DurableJobs.Api.Http;

/// <summary>
/// The HTTP API, written once: the embedded host maps it with <see cref="ApiEndpointRouteBuilderExtensions.MapDurableJobsApi"/>
/// and the Azure Functions app calls the same methods from its HTTP triggers. Every method returns an
/// <see cref="IResult"/>; every error is RFC 7807 <c>application/problem+json</c>. A request that fails any check
/// is answered before <see cref="BatchClient"/> is asked to start anything.
/// </summary>
internal sealed partial class BatchHttpApi
{
    // A cancel carries at most a reason of 500 characters; more than this is not a cancel request.
    private const int MaxCancelBodyBytes = 16 * 1024;
    private const int MaxCancelReasonLength = 500;

    private readonly ApiOptions options;
    private readonly BatchLimits limits;
    private readonly ILogger<BatchHttpApi> logger;

    // Timelines of finished batches by (batch, points): at most 64, a few KB to ~50 KB each.
    private readonly MemoryCache finishedTimelines = new(new MemoryCacheOptions { SizeLimit = 64 });

    /// <summary>Creates the API.</summary>
    public BatchHttpApi(ApiOptions options, BatchLimits limits, ILogger<BatchHttpApi> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(logger);
        this.options = options;
        this.limits = limits;
        this.logger = logger;
    }

    /// <summary>
    /// <c>POST /api/batches</c>: 202 with a <c>Location</c> header and <see cref="BatchAccepted"/>. A <c>batchId</c>
    /// that already names a batch starts nothing and answers the same way with <c>existing: true</c>.
    /// </summary>
    public async Task<IResult> SubmitAsync(HttpRequest request, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (CheckContentType(request.ContentType) is { } unsupported)
        {
            return unsupported.ToResult();
        }

        (ReadOnlyMemory<byte> body, ApiError? unreadable) = await ReadBodyAsync(request, options.MaxRequestBodyBytes, "DurableJobs:Api:MaxRequestBodyBytes", cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable.ToResult();
        }

        BatchRequestParseResult parsed = BatchRequestParser.Parse(body);
        if (parsed.Error is { } parseError)
        {
            return parseError.ToResult();
        }

        SubmitOutcome outcome = await client.SubmitAsync(parsed.Request, cancellationToken).ConfigureAwait(false);
        if (!outcome.Accepted)
        {
            return ValidationError(outcome.Validation).ToResult();
        }

        string id = outcome.BatchId!;
        logger.LogInformation(outcome.AlreadyExisted ? "Batch {BatchId} already existed; nothing started" : "Batch {BatchId} accepted over HTTP", id);
        var accepted = new BatchAccepted
        {
            Id = id,
            Existing = outcome.AlreadyExisted,
            StatusQueryGetUri = BatchUri(request, id, string.Empty),
            CancelPostUri = BatchUri(request, id, "/cancel"),
            JobsGetUri = BatchUri(request, id, "/jobs"),
        };
        return new JsonResult(accepted, StatusCodes.Status202Accepted, accepted.StatusQueryGetUri);
    }

    /// <summary><c>GET /api/batches/{id}</c>: the <see cref="BatchView"/>, or 404.</summary>
    public async Task<IResult> GetAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        BatchView? view = IsPossibleId(id) ? await client.GetAsync(id, cancellationToken).ConfigureAwait(false) : null;
        return view is null ? NotFound(id).ToResult() : new JsonResult(view, StatusCodes.Status200OK);
    }

    /// <summary>
    /// <c>GET /api/batches/{id}/jobs?status=&amp;top=&amp;continuationToken=&amp;latest=</c>: a <see cref="JobPage"/>, or 404. With
    /// <c>latest=true</c> each job shows its latest outcome across the batch's re-runs (<see cref="BatchClient.GetLatestJobsAsync"/>).
    /// </summary>
    public async Task<IResult> GetJobsAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        JobStatus? status = ParseEnum<JobStatus>(request.Query, "status", errors);
        int top = ParseTop(request.Query, options.DefaultJobsPageSize, errors);
        string? token = request.Query["continuationToken"].LastOrDefault() is { Length: > 0 } t ? t : null;
        bool latest = false;
        if (request.Query["latest"].LastOrDefault() is { Length: > 0 } latestText && !bool.TryParse(latestText, out latest))
        {
            errors["latest"] = [$"Must be true or false (got '{latestText}')."];
        }

        if (token is not null && !token.All(char.IsAsciiDigit))
        {
            errors["continuationToken"] = ["Is not a continuation token this service issued."];
        }

        if (errors.Count > 0)
        {
            return InvalidQuery(errors).ToResult();
        }

        if (!IsPossibleId(id))
        {
            return NotFound(id).ToResult();
        }

        JobPage? page;
        try
        {
            page = latest
                ? await client.GetLatestJobsAsync(id, status, top, token, cancellationToken).ConfigureAwait(false)
                : await client.GetJobsAsync(id, status, top, token, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException ex)
        {
            errors["continuationToken"] = [ex.Message];
            return InvalidQuery(errors).ToResult();
        }

        return page is null ? NotFound(id).ToResult() : new JsonResult(page, StatusCodes.Status200OK);
    }

    /// <summary>
    /// <c>GET /api/batches/{id}/timeline?points=</c>: jobs in flight over time with the cap, as <see cref="BatchTimeline"/>,
    /// or 404. Reads when each recorded job ran (no outputs) and downsamples to at most <c>points</c> steps, keeping
    /// each interval's peak. A finished batch's results never change, so its timeline is computed once per
    /// <c>points</c> and then answered from memory without touching storage.
    /// </summary>
    public async Task<IResult> GetTimelineAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        int points = ParseBounded(request.Query, "points", options.DefaultTimelinePoints, 2, options.MaxTimelinePoints, errors);
        if (errors.Count > 0)
        {
            return InvalidQuery(errors).ToResult();
        }

        if (finishedTimelines.TryGetValue((id, points), out BatchTimeline? cached))
        {
            return new JsonResult(cached!, StatusCodes.Status200OK);
        }

        BatchView? view = IsPossibleId(id) ? await client.GetAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (view is null)
        {
            return NotFound(id).ToResult();
        }

        IReadOnlyList<JobSpan> spans = await client.GetJobSpansAsync(id, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<(DateTimeOffset At, int InFlight)> series = JobTimeline.InFlightOverTime(spans);
        var timeline = new BatchTimeline
        {
            Id = view.Id,
            Status = view.Status,
            MaxParallel = view.MaxParallel,
            MaxInFlight = series.Count == 0 ? 0 : series.Max(p => p.InFlight),
            JobsCounted = spans.Count,
            From = series.Count == 0 ? null : series[0].At,
            To = series.Count == 0 ? null : series[^1].At,
            Points = TimelineSampler.Sample(series, points),
            CapSteps = CapPoints(view.CapSteps, series.Count == 0 ? null : series[0].At),
        };

        // Every result of a Completed, TimedOut or Cancelled batch was recorded before it ended (jobs written off are
        // recorded too), and a result is never replaced. A Failed orchestration may leave chunks still recording.
        if (view.IsFinished && view.Status != BatchStatus.Failed)
        {
            finishedTimelines.Set((id, points), timeline, new MemoryCacheEntryOptions { Size = 1 });
        }

        return new JsonResult(timeline, StatusCodes.Status200OK);
    }

    /// <summary>
    /// <c>POST /api/batches/{id}/cancel</c> with a JSON body, <c>{}</c> or <c>{"reason": "..."}</c> (<see cref="CancelBatchRequest"/>):
    /// 202 when accepted, 409 when already finished, 404 when unknown. Anything but JSON is a 415: an HTML form on any
    /// web page can post url-encoded, multipart or plain text to a keyless loopback host, never JSON, and a script that
    /// sends JSON needs a CORS preflight this API never grants.
    /// </summary>
    public async Task<IResult> CancelAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (CheckContentType(request.ContentType) is { } unsupported)
        {
            return unsupported.ToResult();
        }

        if (request.Query.ContainsKey("reason"))
        {
            return InvalidQuery(new Dictionary<string, string[]> { ["reason"] = ["Send the reason in the JSON body: {\"reason\": \"...\"}."] }).ToResult();
        }

        (ReadOnlyMemory<byte> body, ApiError? unreadable) = await ReadBodyAsync(request, MaxCancelBodyBytes, null, cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable.ToResult();
        }

        // An empty body asks for nothing beyond the cancel itself.
        (CancelBatchRequest? cancel, ApiError? malformed) = body.Span.Trim(" \t\r\n"u8).IsEmpty
            ? (null, null)
            : BatchRequestParser.ParseAs<CancelBatchRequest>(body, "a JSON object such as {\"reason\": \"...\"}");
        if (malformed is not null)
        {
            return malformed.ToResult();
        }

        string? reason = cancel?.Reason;
        if (reason is { Length: > MaxCancelReasonLength })
        {
            return new ApiError(
                StatusCodes.Status400BadRequest, ApiErrorCodes.Validation, "The cancel request is invalid.", "1 problem(s) found; see 'errors'.",
                new Dictionary<string, string[]> { ["reason"] = [string.Create(CultureInfo.InvariantCulture, $"Must be at most {MaxCancelReasonLength} characters long (got {reason.Length}).")] }).ToResult();
        }

        if (!IsPossibleId(id))
        {
            return NotFound(id).ToResult();
        }

        CancelOutcome outcome = await client.CancelAsync(id, reason, cancellationToken).ConfigureAwait(false);
        switch (outcome)
        {
            case CancelOutcome.Accepted:
                logger.LogInformation("Cancel of batch {BatchId} accepted", id);
                Uri status = BatchUri(request, id, string.Empty);
                return new JsonResult(new CancelAccepted { Id = id, StatusQueryGetUri = status }, StatusCodes.Status202Accepted, status);
            case CancelOutcome.AlreadyFinished:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.AlreadyFinished, "The batch has already finished.",
                    $"Batch '{id}' has already finished; there is nothing to cancel.").ToResult();
            default:
                return NotFound(id).ToResult();
        }
    }

    /// <summary>
    /// <c>DELETE /api/batches/{id}</c>: 204 when the batch (with its re-runs) and everything stored for it are gone, 409
    /// while it (or a re-run of it) has not finished or when a later re-run exists, 404 when unknown.
    /// </summary>
    public async Task<IResult> DeleteAsync(string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        DeleteOutcome outcome = IsPossibleId(id) ? await client.DeleteAsync(id, cancellationToken).ConfigureAwait(false) : DeleteOutcome.NotFound;
        switch (outcome)
        {
            case DeleteOutcome.Deleted:
                logger.LogInformation("Batch {BatchId} deleted", id);
                // This process's cached timelines of the batch (one per points asked for) go with it.
                for (int points = 2; points <= options.MaxTimelinePoints; points++)
                {
                    finishedTimelines.Remove((id, points));
                }

                return Results.NoContent();
            case DeleteOutcome.NotFinished:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.NotFinished, "The batch has not finished.",
                    $"Batch '{id}' or one of its re-runs is still pending, running or paused; cancel it first, or wait until it finishes.").ToResult();
            case DeleteOutcome.LaterRerunExists:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.LaterRerunExists, "A later re-run exists.",
                    $"Batch '{id}' is a re-run and a later re-run of the same batch exists; delete that one first, or the original batch (which deletes every re-run).").ToResult();
            default:
                return NotFound(id).ToResult();
        }
    }

    /// <summary>
    /// <c>GET /api/batches?status=&amp;top=&amp;continuationToken=</c>: a page of batches, newest first, as <see cref="BatchList"/>
    /// (see <see cref="BatchClient.ListAsync"/>: a page costs what it covers).
    /// </summary>
    public async Task<IResult> ListAsync(HttpRequest request, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        BatchStatus? status = ParseEnum<BatchStatus>(request.Query, "status", errors);
        int top = ParseTop(request.Query, options.DefaultListSize, errors);
        string? token = request.Query["continuationToken"].LastOrDefault() is { Length: > 0 } t ? t : null;
        if (errors.Count > 0)
        {
            return InvalidQuery(errors).ToResult();
        }

        BatchPage page;
        try
        {
            page = await client.ListAsync(status, top, token, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException ex)
        {
            errors["continuationToken"] = [ex.Message];
            return InvalidQuery(errors).ToResult();
        }

        return new JsonResult(new BatchList { Items = page.Items, ContinuationToken = page.ContinuationToken }, StatusCodes.Status200OK);
    }

    /// <summary>
    /// <c>GET /api/healthz</c>: 200 when a storage round trip through the engine's client succeeds, else 503.
    /// The client comes from a factory because it may not exist yet (the engine still starting).
    /// </summary>
    public async Task<IResult> HealthAsync(HttpRequest request, Func<BatchClient> client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HealthProbeTimeout);
        var clock = Stopwatch.StartNew();
        try
        {
            // Reading an id no batch can have exercises the client, the task hub and storage without side effects.
            _ = await client().GetAsync("healthz-probe", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The probe answers anyone who can reach it; a storage exception's text names the account, its endpoint
            // and request ids. The log has all of it, the answer only what kind of failure it was.
            logger.LogWarning(ex, "Health probe failed");
            return new ApiError(
                StatusCodes.Status503ServiceUnavailable, ApiErrorCodes.Unhealthy, "The engine or its storage is not reachable.",
                ex is OperationCanceledException
                    ? "Storage did not answer in time; see the host's log."
                    : $"The storage round trip failed ({ex.GetType().Name}); see the host's log.").ToResult();
        }

        return new JsonResult(
            new HealthReport { StorageLatencyMs = Math.Round(clock.Elapsed.TotalMilliseconds, 1), CheckedAt = DateTimeOffset.UtcNow },
            StatusCodes.Status200OK);
    }

    /// <summary>
    /// Reads a request body within <paramref name="limit"/> bytes (set by <paramref name="limitSetting"/>, if by any):
    /// the bytes, or the problem (413, or 400 for broken framing). Our bounded reader enforces the limit with a problem
    /// body, the same under every server.
    /// </summary>
    internal static async Task<(ReadOnlyMemory<byte> Body, ApiError? Error)> ReadBodyAsync(HttpRequest request, long limit, string? limitSetting, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        BodyReadResult body;
        try
        {
            body = await BoundedBodyReader.ReadAsync(request.Body, request.ContentLength, limit, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // Broken framing (a bad chunk, a body shorter than its Content-Length): the server could not read it.
            return (default, new ApiError(ex.StatusCode, ApiErrorCodes.MalformedBody, "The request body could not be read.", ex.Message));
        }

        if (body.TooLarge)
        {
            // Closing the connection spares the server from draining the rest of an oversized body for keep-alive.
            request.HttpContext.Response.Headers.Connection = "close";
            return (default, new ApiError(
                StatusCodes.Status413PayloadTooLarge, ApiErrorCodes.BodyTooLarge, "The request body is too large.",
                string.Create(CultureInfo.InvariantCulture, $"The body may be at most {limit} bytes{(limitSetting is null ? string.Empty : $" ({limitSetting})")}.")));
        }

        return (body.Body!.Value, null);
    }

    /// <summary>The 400 for a request that failed validation, problems keyed by field path.</summary>
    internal static ApiError ValidationError(ValidationResult validation, string title = "The batch request is invalid.") =>
        new(StatusCodes.Status400BadRequest, ApiErrorCodes.Validation, title,
            string.Create(CultureInfo.InvariantCulture, $"{validation.Problems.Count} problem(s) found; see 'errors'."), validation.ToDictionary());

    /// <summary>415 unless the content type is JSON (<c>application/json</c> or <c>*/*+json</c>) in UTF-8.</summary>
    internal static ApiError? CheckContentType(string? contentType)
    {
        if (contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out MediaTypeHeaderValue? media))
        {
            bool json = media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || (media.MediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && media.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
            bool utf8 = !media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || media.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
            if (json && utf8)
            {
                return null;
            }
        }

        return new ApiError(
            StatusCodes.Status415UnsupportedMediaType, ApiErrorCodes.UnsupportedMediaType, "The content type is not supported.",
            $"Send the body as 'application/json' in UTF-8 (got '{contentType ?? "no content type"}').");
    }

    /// <summary>The cap changes as seconds from the first job's start, after the cap the batch started with; null without changes or jobs.</summary>
    private static IReadOnlyList<CapPoint>? CapPoints(IReadOnlyList<CapStep>? steps, DateTimeOffset? from)
    {
        if (steps is not { Count: > 0 } || from is not { } start)
        {
            return null;
        }

        var points = new List<CapPoint> { new(0, steps[0].From) };
        points.AddRange(steps.Select(s => new CapPoint(Math.Max(0, Math.Round((new DateTimeOffset(DateTime.SpecifyKind(s.AtUtc, DateTimeKind.Utc)) - start).TotalSeconds, 3)), s.To)));
        return points;
    }

    private bool IsPossibleId(string? id) =>
        id is { Length: > 0 } && id.Length <= limits.MaxIdLength && BatchValidator.IsValidId(id);

    private static ApiError NotFound(string? id) =>
        new(StatusCodes.Status404NotFound, ApiErrorCodes.BatchNotFound, "The batch does not exist.", $"No batch has the id '{id}'.");

    private static ApiError InvalidQuery(IDictionary<string, string[]> errors) =>
        new(StatusCodes.Status400BadRequest, ApiErrorCodes.InvalidQuery, "A query parameter is invalid.",
            $"Check {string.Join(", ", errors.Keys.Select(k => $"'{k}'"))}.", errors);

    private static TEnum? ParseEnum<TEnum>(IQueryCollection query, string name, Dictionary<string, string[]> errors)
        where TEnum : struct, Enum
    {
        string? raw = query[name].LastOrDefault();
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        // Names only: Enum.TryParse would also take "3" or "1,2".
        if (raw.All(char.IsAsciiLetter) && Enum.TryParse(raw, ignoreCase: true, out TEnum value))
        {
            return value;
        }

        errors[name] = [$"Must be one of {string.Join(", ", Enum.GetNames<TEnum>())} (got '{raw}')."];
        return null;
    }

    private int ParseTop(IQueryCollection query, int fallback, Dictionary<string, string[]> errors) =>
        ParseBounded(query, "top", fallback, 1, options.MaxPageSize, errors);

    private static int ParseBounded(IQueryCollection query, string name, int fallback, int min, int max, Dictionary<string, string[]> errors)
    {
        string? raw = query[name].LastOrDefault();
        if (string.IsNullOrEmpty(raw))
        {
            return fallback;
        }

        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
        {
            return value;
        }

        errors[name] = [string.Create(CultureInfo.InvariantCulture, $"Must be a whole number from {min} to {max} (got '{raw}').")];
        return fallback;
    }

    private static Uri BatchUri(HttpRequest request, string id, string suffix) =>
        new($"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}/{ApiOptions.RoutePrefix}/batches/{Uri.EscapeDataString(id)}{suffix}");

    /// <summary>JSON in the API's conventions, whatever JSON options the host configured, with an optional Location.</summary>
    internal sealed class JsonResult(object value, int statusCode, Uri? location = null) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (location is not null)
            {
                httpContext.Response.Headers.Location = location.AbsoluteUri;
            }

            return TypedResults.Json(value, ApiJson.Options, contentType: null, statusCode).ExecuteAsync(httpContext);
        }
    }
}
