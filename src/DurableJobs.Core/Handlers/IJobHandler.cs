using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// Runs jobs whose payload and output are raw JSON. Implementations must honour the token: it is how a deadline, a
/// cancel or a host shutdown reaches the work. The job type name is given at registration
/// (<c>AddHandler&lt;THandler&gt;("type")</c>); a handler is created from a dependency-injection scope per attempt.
/// </summary>
/// <seealso cref="IJobHandler{TPayload, TResult}"/>
public interface IJobHandler
{
    /// <summary>
    /// Checks a job's payload when its batch is submitted, so input the handler would refuse, or that would make it
    /// run without bound, is refused with the batch (naming the field) rather than accepted and failed later.
    /// Throws <see cref="JobPayloadException"/>; the default accepts every payload. (Typed handlers need none: their
    /// payload is bound and validated at submission as it is before each attempt.)
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

/// <summary>
/// Runs jobs with a typed payload and output. The payload is deserialised (unknown fields refused) and validated
/// (data annotations such as <c>[Range]</c> and <c>[Required]</c>) before the handler runs; a payload that does not bind
/// fails the job at once, without retries, with an error naming the field. The output is serialised to JSON.
/// </summary>
/// <typeparam name="TPayload">The payload's type.</typeparam>
/// <typeparam name="TResult">The output's type (<see langword="null"/> for none).</typeparam>
public interface IJobHandler<in TPayload, TResult>
{
    /// <summary>Runs one attempt of a job.</summary>
    /// <param name="context">Which job and attempt this is.</param>
    /// <param name="payload">The job's payload, bound and validated.</param>
    /// <param name="cancellationToken">Cancelled when the batch is cancelled, its deadline passes or the host stops.</param>
    /// <returns>The job's output.</returns>
    ValueTask<TResult> ExecuteAsync(JobContext context, TPayload payload, CancellationToken cancellationToken);
}
