using System.Globalization;
using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// <c>delay</c>: waits <c>{"ms": N}</c> milliseconds, or less when the token is cancelled, reporting its progress every
/// second. With <c>"checkpoint": true</c> it saves how long it has waited each second, and a later attempt (a retry, a
/// redelivery after its worker died) waits only the rest. With <c>"throttleAbove": N</c> it plays a downstream that
/// allows N such jobs at once in this process: one more is refused with <see cref="JobThrottledException"/> (retry
/// after <c>"retryAfterMs"</c>, default 100).
/// </summary>
internal sealed class DelayJobHandler : IJobHandler
{
    /// <summary>The longest wait a job may ask for: 7 days, the longest deadline a batch may have by default.</summary>
    public const long MaxMilliseconds = 7L * 24 * 60 * 60 * 1000;

    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(1);

    /// <summary>Jobs with <c>throttleAbove</c> running in this process: the load on the simulated downstream.</summary>
    private static int downstreamLoad;

    private readonly TimeProvider time;

    /// <summary>What a wait on the system clock goes through.</summary>
    private readonly PreciseDelay precise;

    /// <summary>Creates the handler on the system clock.</summary>
    public DelayJobHandler()
        : this(TimeProvider.System)
    {
    }

    /// <summary>
    /// Creates the handler on <paramref name="time"/> (tests script the clock's readings); on the system clock it waits
    /// through <paramref name="precise"/> (default: the process's <see cref="PreciseDelay.Shared"/>).
    /// </summary>
    internal DelayJobHandler(TimeProvider time, PreciseDelay? precise = null)
    {
        this.time = time;
        this.precise = precise ?? PreciseDelay.Shared;
    }

    /// <inheritdoc />
    public void ValidatePayload(JsonElement payload)
    {
        ReadMilliseconds(payload);
        ReadCheckpointFlag(payload);
        ReadThrottle(payload);
    }

    /// <inheritdoc />
    public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (ReadThrottle(payload) is not (long above, long retryAfterMs))
        {
            return await WaitAsync(context, payload, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (Interlocked.Increment(ref downstreamLoad) > above)
            {
                throw new JobThrottledException(TimeSpan.FromMilliseconds(retryAfterMs), string.Create(CultureInfo.InvariantCulture, $"More than {above} jobs call the downstream at once."));
            }

            return await WaitAsync(context, payload, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref downstreamLoad);
        }
    }

    private async ValueTask<JsonElement?> WaitAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        long ms = ReadMilliseconds(payload);
        bool checkpoint = ReadCheckpointFlag(payload);
        long resumedAt = context.Checkpoint is { ValueKind: JsonValueKind.Object } saved && saved.TryGetProperty("sleptMs", out JsonElement slept) && slept.TryGetInt64(out long done)
            ? Math.Clamp(done, 0, ms)
            : 0;
        if (ms <= resumedAt)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return JsonSerializer.SerializeToElement(new { sleptMs = ms, resumedAtMs = resumedAt });
        }

        // Waits in steps of a second towards one end time, so the steps add no drift.
        DateTimeOffset start = time.GetUtcNow() - TimeSpan.FromMilliseconds(resumedAt);
        DateTimeOffset end = start + TimeSpan.FromMilliseconds(ms);
        while (WaitBefore(end) is { } wait)
        {
            // On the system clock a precise wait: Task.Delay ends on a 4 ms tick on Linux (10 ms took 12; see PreciseDelay).
            await (time == TimeProvider.System
                ? precise.WaitAsync(wait, cancellationToken)
                : Task.Delay(wait, time, cancellationToken)).ConfigureAwait(false);
            long sleptMs = Math.Min(ms, (long)(time.GetUtcNow() - start).TotalMilliseconds);
            if (sleptMs >= ms)
            {
                break;
            }

            context.ReportProgress(100.0 * sleptMs / ms, string.Create(CultureInfo.InvariantCulture, $"{sleptMs / 1000} of {ms / 1000} s"));
            if (checkpoint)
            {
                await context.SaveCheckpointAsync(JsonSerializer.SerializeToElement(new { sleptMs }), cancellationToken).ConfigureAwait(false);
            }
        }

        return resumedAt > 0
            ? JsonSerializer.SerializeToElement(new { sleptMs = ms, resumedAtMs = resumedAt })
            : JsonSerializer.SerializeToElement(new { sleptMs = ms });
    }

    /// <summary>
    /// The next step towards <paramref name="end"/>, or null once it is reached. The clock is read once: a check
    /// against one reading and a wait computed from a later one could go negative in between (a thread preempted for a
    /// millisecond or two on a loaded machine), and Task.Delay throws for a negative wait, except that one between
    /// -1 and -2 ms truncates to -1, which it takes as "forever": the job never finished and its batch hung.
    /// Rounded up to a whole millisecond, which is what a timer can wait, so a sub-millisecond rest is not spun on.
    /// </summary>
    private TimeSpan? WaitBefore(DateTimeOffset end)
    {
        TimeSpan left = end - time.GetUtcNow();
        if (left <= TimeSpan.Zero)
        {
            return null;
        }

        return left < ReportEvery ? TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)) : ReportEvery;
    }

    private static long ReadMilliseconds(JsonElement payload) => PayloadReader.GetInt64(payload, "ms", MaxMilliseconds) ?? 0;

    private static (long Above, long RetryAfterMs)? ReadThrottle(JsonElement payload) =>
        PayloadReader.GetInt64(payload, "throttleAbove", 1_000_000) is { } above
            ? (above, PayloadReader.GetInt64(payload, "retryAfterMs", (long)JobThrottledException.MaxRetryAfter.TotalMilliseconds) ?? 100)
            : null;

    private static bool ReadCheckpointFlag(JsonElement payload) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("checkpoint", out JsonElement flag) && flag.ValueKind != JsonValueKind.Null
            ? flag.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new JobPayloadException("checkpoint", "Payload field 'checkpoint' must be true or false."),
            }
            : false;
}
