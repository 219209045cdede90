using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary><c>delay</c>: waits <c>{"ms": N}</c> milliseconds, or less when the token is cancelled.</summary>
public sealed class DelayJobHandler : IJobHandler
{
    /// <inheritdoc />
    public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        long ms = PayloadReader.GetInt64(payload, "ms") ?? 0;
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
}
