using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// <c>fail</c>: <c>{"failTimes": N, "message": "..."}</c> fails the first N attempts, then succeeds.
/// Without <c>failTimes</c> it always fails. Useful to see retries at work.
/// </summary>
public sealed class FailJobHandler : IJobHandler
{
    /// <inheritdoc />
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        long? failTimes = PayloadReader.GetInt64(payload, "failTimes");
        if (failTimes is null || context.Attempt <= failTimes)
        {
            string message = PayloadReader.GetString(payload, "message") ?? $"Failing on purpose (attempt {context.Attempt}).";
            throw new JobFailedOnPurposeException(message);
        }

        return ValueTask.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { succeededOnAttempt = context.Attempt }));
    }
}
