using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>Runs jobs of one type. Implementations must honour the token: it is how a deadline or a cancel reaches the work.</summary>
public interface IJobHandler
{
    /// <summary>The job type this handler runs, as written in requests (for example <c>delay</c>).</summary>
    string Type { get; }

    /// <summary>
    /// Checks a job's payload when its batch is submitted, so input the handler would refuse, or that would make it
    /// run without bound, is refused with the batch (naming the field) rather than accepted and failed later.
    /// Throws <see cref="JobPayloadException"/>; the default accepts every payload.
    /// </summary>
    /// <param name="payload">The payload (JSON <c>null</c> when the request had none).</param>
    void ValidatePayload(JsonElement payload)
    {
    }

    /// <summary>Runs one attempt of a job.</summary>
    /// <param name="context">Which job and attempt this is.</param>
    /// <param name="payload">The job's payload (JSON <c>null</c> when the request had none).</param>
    /// <param name="cancellationToken">Cancelled when the batch is cancelled, its deadline passes or the host stops.</param>
    /// <returns>The job's output, or <see langword="null"/> for none.</returns>
    ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken);
}
