using System.Globalization;
using DurableJobs.Api.Parsing;
using DurableJobs.Api.Responses;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Http;

/// <summary>The controls of a batch once it was submitted, besides cancel: pause, resume, re-run.</summary>
internal sealed partial class BatchHttpApi
{
    /// <summary>Which control a request asks for.</summary>
    public enum Control
    {
        /// <summary><c>POST /api/batches/{id}/pause</c>.</summary>
        Pause,

        /// <summary><c>POST /api/batches/{id}/resume</c>.</summary>
        Resume,
    }

    /// <summary>
    /// <c>POST /api/batches/{id}/pause</c> and <c>/resume</c> with a JSON body, <c>{}</c> or
    /// <c>{"drain": true, "reason": "..."}</c> (<see cref="PauseRequestBody"/>): 202 when accepted, 409 when the batch has
    /// already finished, 404 when unknown, 400 for <c>drain: false</c> (not offered: see <see cref="PauseRequestBody.Drain"/>).
    /// JSON only, as for a cancel.
    /// </summary>
    public async Task<IResult> ControlAsync(HttpRequest request, string id, Control control, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        (PauseRequestBody? body, ApiError? error) = await ReadControlBodyAsync<PauseRequestBody>(request, "a JSON object such as {\"drain\": true}", cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error.ToResult();
        }

        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body?.Drain == false)
        {
            errors["drain"] = [control == Control.Pause
                ? "Only drain: true is offered: running jobs finish. A job stopped mid-run may already have had its effect, so it is not put back to run again."
                : "Applies to a pause only."];
        }

        if (body?.Reason is { Length: > MaxCancelReasonLength } reason)
        {
            errors["reason"] = [string.Create(CultureInfo.InvariantCulture, $"Must be at most {MaxCancelReasonLength} characters long (got {reason.Length}).")];
        }

        if (errors.Count > 0)
        {
            return new ApiError(
                StatusCodes.Status400BadRequest, ApiErrorCodes.Validation, $"The {control.ToString().ToLowerInvariant()} request is invalid.",
                string.Create(CultureInfo.InvariantCulture, $"{errors.Count} problem(s) found; see 'errors'."), errors).ToResult();
        }

        if (!IsPossibleId(id))
        {
            return NotFound(id).ToResult();
        }

        ControlOutcome outcome = control == Control.Pause
            ? await client.PauseAsync(id, body?.Reason, cancellationToken).ConfigureAwait(false)
            : await client.ResumeAsync(id, body?.Reason, cancellationToken).ConfigureAwait(false);
        return ControlResult(request, id, control.ToString().ToLowerInvariant(), outcome);
    }

    /// <summary>
    /// <c>POST /api/batches/{id}/rerun</c> with a JSON body, <c>{}</c> or a <see cref="RerunRequest"/>
    /// (<c>{"statuses": ["Failed"], "maxParallel": 4}</c>): 202 with the new batch's id and <c>Location</c>; 409
    /// <c>batch-not-finished</c> while the batch runs, 409 <c>nothing-to-rerun</c> when no job has those statuses; 404 when
    /// unknown; 400 naming the field when an override breaks a batch rule.
    /// </summary>
    public async Task<IResult> RerunAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        (RerunRequest? body, ApiError? error) = await ReadControlBodyAsync<RerunRequest>(request, "a JSON object such as {\"statuses\": [\"Failed\"]}", cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error.ToResult();
        }

        if (!IsPossibleId(id))
        {
            return NotFound(id).ToResult();
        }

        RerunOutcome outcome = await client.RerunAsync(id, body, cancellationToken).ConfigureAwait(false);
        return outcome.Outcome == ControlOutcome.Invalid
            ? ValidationError(outcome.Validation, "The re-run request is invalid.").ToResult()
            : ControlResult(request, id, "re-run", outcome.Outcome, outcome.BatchId);
    }

    /// <summary>
    /// <c>PATCH /api/batches/{id}</c> with <c>{"maxParallel": N}</c>: 202 when the change was sent to the batch; 400 naming
    /// <c>maxParallel</c> when it is missing or outside the limits; 409 <c>batch-already-finished</c>; 404 when unknown.
    /// </summary>
    public async Task<IResult> PatchAsync(HttpRequest request, string id, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        (PatchRequestBody? body, ApiError? error) = await ReadControlBodyAsync<PatchRequestBody>(request, "a JSON object such as {\"maxParallel\": 8}", cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error.ToResult();
        }

        if (body?.MaxParallel is not { } cap || cap < limits.MinParallel || cap > limits.MaxParallel)
        {
            return new ApiError(
                StatusCodes.Status400BadRequest, ApiErrorCodes.Validation, "The change is invalid.", "1 problem(s) found; see 'errors'.",
                new Dictionary<string, string[]> { ["maxParallel"] = [string.Create(CultureInfo.InvariantCulture, $"Must be between {limits.MinParallel} and {limits.MaxParallel} (got {body?.MaxParallel?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}).")] }).ToResult();
        }

        if (!IsPossibleId(id))
        {
            return NotFound(id).ToResult();
        }

        return ControlResult(request, id, "change", await client.SetMaxParallelAsync(id, cap, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The answer to a control: 202 with the batch to follow, or the problem.</summary>
    private IResult ControlResult(HttpRequest request, string id, string action, ControlOutcome outcome, string? acceptedId = null)
    {
        switch (outcome)
        {
            case ControlOutcome.Accepted:
                logger.LogInformation("{Action} of batch {BatchId} accepted", action, id);
                Uri status = BatchUri(request, acceptedId ?? id, string.Empty);
                return new JsonResult(new ControlAccepted { Id = acceptedId ?? id, StatusQueryGetUri = status }, StatusCodes.Status202Accepted, status);
            case ControlOutcome.AlreadyFinished:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.AlreadyFinished, "The batch has already finished.",
                    $"Batch '{id}' has already finished; there is nothing to {action}.").ToResult();
            case ControlOutcome.NotFinished:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.NotFinished, "The batch has not finished.",
                    $"Batch '{id}' is still running; it can be re-run once it has finished.").ToResult();
            case ControlOutcome.NothingToRerun:
                return new ApiError(
                    StatusCodes.Status409Conflict, ApiErrorCodes.NothingToRerun, "The batch has no job to re-run.",
                    $"Batch '{id}' has no job with the statuses asked for.").ToResult();
            default:
                return NotFound(id).ToResult();
        }
    }

    /// <summary>
    /// Reads the JSON body of a control: null for an empty body (the defaults), else the parsed value or the problem
    /// (415 for anything but JSON, as for a cancel).
    /// </summary>
    private static async Task<(T? Body, ApiError? Error)> ReadControlBodyAsync<T>(HttpRequest request, string shape, CancellationToken cancellationToken)
        where T : class
    {
        if (CheckContentType(request.ContentType) is { } unsupported)
        {
            return (null, unsupported);
        }

        (ReadOnlyMemory<byte> body, ApiError? unreadable) = await ReadBodyAsync(request, MaxCancelBodyBytes, null, cancellationToken).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return (null, unreadable);
        }

        return body.Span.Trim(" \t\r\n"u8).IsEmpty ? (null, null) : BatchRequestParser.ParseAs<T>(body, shape);
    }
}
