using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using DurableJobs.Api.Http;
using DurableJobs.Api.Parsing;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Queue;

/// <summary>
/// Turns one queue message into a batch, for the embedded listener and the Functions queue trigger alike.
/// The message is the POST body's JSON, as plain text or base64 (Functions' default encoding). Its batch id
/// comes from the message, else is derived from the queue message id, so a redelivered message finds its
/// batch already there and starts nothing. A message that can never become a batch is a poison decision
/// with the reason; storage or engine failures throw, so the host retries (and poisons after maxDequeueCount).
/// Each message is a <see cref="DurableJobsTelemetry.QueueSpan"/> span (the submit span nests under it) and a
/// <see cref="DurableJobsTelemetry.QueueLag"/> measurement when its insertion time is known.
/// </summary>
internal sealed class BatchQueueMessageProcessor
{
    private readonly ILogger<BatchQueueMessageProcessor> logger;
    private readonly TimeProvider time;

    /// <summary>Creates the processor.</summary>
    public BatchQueueMessageProcessor(ILogger<BatchQueueMessageProcessor> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Processes one message whose dequeue count and insertion time are unknown.</summary>
    /// <param name="messageText">The message text as the queue holds it.</param>
    /// <param name="messageId">The queue message id: the batch id is derived from it when the message names none.</param>
    /// <param name="client">Starts the batch.</param>
    /// <param name="cancellationToken">Stops the submission.</param>
    public Task<QueueMessageOutcome> ProcessAsync(string messageText, string messageId, BatchClient client, CancellationToken cancellationToken) =>
        ProcessAsync(new QueueDelivery(messageText, messageId), client, cancellationToken);

    /// <summary>Processes one delivery of a message.</summary>
    /// <param name="delivery">The message and what the queue says about it.</param>
    /// <param name="client">Starts the batch.</param>
    /// <param name="cancellationToken">Stops the submission.</param>
    public async Task<QueueMessageOutcome> ProcessAsync(QueueDelivery delivery, BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(delivery.MessageText);
        ArgumentException.ThrowIfNullOrEmpty(delivery.MessageId);
        ArgumentNullException.ThrowIfNull(client);
        if (delivery.InsertedOn is { } inserted)
        {
            DurableJobsTelemetry.QueueLag.Record(Math.Max(0, (time.GetUtcNow() - inserted).TotalSeconds));
        }

        using Activity? span = DurableJobsTelemetry.Source.StartActivity(DurableJobsTelemetry.QueueSpan, ActivityKind.Consumer);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(TelemetryTags.MessageId, delivery.MessageId);
            span.SetTag(TelemetryTags.DequeueCount, delivery.DequeueCount);
        }

        try
        {
            QueueMessageOutcome outcome = await ProcessTracedAsync(delivery.MessageText, delivery.MessageId, client, cancellationToken).ConfigureAwait(false);
            if (span is { IsAllDataRequested: true })
            {
                span.SetTag(TelemetryTags.BatchId, outcome.BatchId);
                span.SetTag(TelemetryTags.QueueOutcome, outcome.Disposition switch
                {
                    QueueMessageDisposition.Started => "started",
                    QueueMessageDisposition.AlreadyExisted => "already_existed",
                    _ => "poison",
                });
                if (outcome.Disposition == QueueMessageDisposition.Poison)
                {
                    span.SetStatus(ActivityStatusCode.Error, outcome.Reason);
                }
            }

            return outcome;
        }
        catch (Exception ex) when (span is not null)
        {
            span.SetTag(TelemetryTags.QueueOutcome, "error");
            span.SetStatus(ActivityStatusCode.Error, ex.Message);
            span.AddException(ex);
            throw;
        }
    }

    private async Task<QueueMessageOutcome> ProcessTracedAsync(string messageText, string messageId, BatchClient client, CancellationToken cancellationToken)
    {
        if (Decode(messageText) is not { } utf8)
        {
            return Poisoned(messageId, "The message is neither JSON nor base64-encoded JSON.");
        }

        BatchRequestParseResult parsed = BatchRequestParser.Parse(utf8);
        if (parsed.Error is { } error)
        {
            return Poisoned(messageId, Describe(error));
        }

        BatchRequest? request = parsed.Request;
        if (request is not null && request.BatchId is null)
        {
            request = request with { BatchId = DeriveBatchId(messageId) };
        }

        SubmitOutcome outcome = await client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        if (!outcome.Accepted)
        {
            return Poisoned(messageId, Describe(BatchHttpApi.ValidationError(outcome.Validation)), request?.BatchId);
        }

        logger.LogInformation(
            outcome.AlreadyExisted ? "Queue message {MessageId}: batch {BatchId} already existed; nothing started" : "Queue message {MessageId} started batch {BatchId}",
            messageId, outcome.BatchId);
        return new QueueMessageOutcome(outcome.AlreadyExisted ? QueueMessageDisposition.AlreadyExisted : QueueMessageDisposition.Started, outcome.BatchId, null);
    }

    /// <summary>The batch id of a message that names none: a stable function of the queue message id.</summary>
    public static string DeriveBatchId(string messageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(messageId));
        return "queue-" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    private static ReadOnlyMemory<byte>? Decode(string text)
    {
        string trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            return null;
        }

        if (trimmed[0] is '{' or '[' or '"' || trimmed is "null" or "true" or "false")
        {
            return Encoding.UTF8.GetBytes(trimmed);
        }

        // Base64 is tried second: a JSON document never is valid base64 (it starts with a brace), so the order is unambiguous.
        var bytes = new byte[(trimmed.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(trimmed, bytes, out int written))
        {
            return null;
        }

        return new ReadOnlyMemory<byte>(bytes, 0, written);
    }

    private static string Describe(ApiError error)
    {
        string text = $"{error.Title} {error.Detail}";
        return error.Errors is null ? text : $"{text} {string.Join("; ", error.Errors.Select(e => (e.Key.Length == 0 ? string.Empty : e.Key + ": ") + string.Join(" ", e.Value)))}";
    }

    private QueueMessageOutcome Poisoned(string messageId, string reason, string? batchId = null)
    {
        logger.LogWarning("Queue message {MessageId} cannot become a batch: {Reason}", messageId, reason);
        return QueueMessageOutcome.Poison(reason, batchId);
    }
}
