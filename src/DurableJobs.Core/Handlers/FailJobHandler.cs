using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// <c>fail</c>: <c>{"failTimes": N, "message": "..."}</c> fails the first N attempts, then succeeds.
/// Without <c>failTimes</c> it always fails. Useful to see retries at work.
/// </summary>
internal sealed class FailJobHandler : IJobHandler
{
    /// <summary>The most attempts a job may fail on purpose: more than any retry policy allows, so larger counts could only mean "always".</summary>
    public const long MaxFailTimes = 1_000;

    /// <summary>The longest message: what a recorded error keeps of it.</summary>
    public const int MaxMessageLength = 1_000;

    /// <inheritdoc />
    public void ValidatePayload(JsonElement payload) => Read(payload);

    /// <inheritdoc />
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        (long? failTimes, string? message) = Read(payload);
        if (failTimes is null || context.Attempt <= failTimes)
        {
            throw new JobFailedOnPurposeException(message ?? $"Failing on purpose (attempt {context.Attempt}).");
        }

        return ValueTask.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { succeededOnAttempt = context.Attempt }));
    }

    private static (long? FailTimes, string? Message) Read(JsonElement payload) =>
        (PayloadReader.GetInt64(payload, "failTimes", MaxFailTimes), PayloadReader.GetString(payload, "message", MaxMessageLength));
}
