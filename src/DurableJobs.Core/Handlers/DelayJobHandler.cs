using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary><c>delay</c>: waits <c>{"ms": N}</c> milliseconds, or less when the token is cancelled.</summary>
internal sealed class DelayJobHandler : IJobHandler
{
    /// <summary>The longest wait a job may ask for: 7 days, the longest deadline a batch may have by default.</summary>
    public const long MaxMilliseconds = 7L * 24 * 60 * 60 * 1000;

    /// <inheritdoc />
    public void ValidatePayload(JsonElement payload) => ReadMilliseconds(payload);

    /// <inheritdoc />
    public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        long ms = ReadMilliseconds(payload);
        if (ms > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ms), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        return JsonSerializer.SerializeToElement(new { sleptMs = ms });
    }

    private static long ReadMilliseconds(JsonElement payload) => PayloadReader.GetInt64(payload, "ms", MaxMilliseconds) ?? 0;
}
