using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// <c>hash</c>: <c>{"iterations": N}</c> runs a SHA-256 chain N rounds long, seeded by the job id. CPU-bound;
/// it checks the token between rounds, so even pure computation stops promptly.
/// </summary>
internal sealed class HashJobHandler : IJobHandler
{
    /// <summary>The most rounds a job may ask for: a few seconds to a minute of one core, not a core held until the deadline.</summary>
    public const long MaxIterations = 100_000_000;

    /// <inheritdoc />
    public void ValidatePayload(JsonElement payload) => ReadIterations(payload);

    /// <inheritdoc />
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        long iterations = ReadIterations(payload);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(context.JobId), digest);
        for (long i = 1; i < iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SHA256.HashData(digest, digest);
        }

        cancellationToken.ThrowIfCancellationRequested();
        string hex = Convert.ToHexStringLower(digest);
        return ValueTask.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { iterations, sha256 = hex }));
    }

    private static long ReadIterations(JsonElement payload) => PayloadReader.GetInt64(payload, "iterations", MaxIterations) ?? 1;
}
