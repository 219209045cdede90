using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary><c>echo</c>: returns its payload.</summary>
internal sealed class EchoJobHandler : IJobHandler
{
    /// <inheritdoc />
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<JsonElement?>(payload.Clone());
    }
}
