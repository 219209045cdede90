using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// <c>hash</c>: <c>{"iterations": N}</c> runs a SHA-256 chain N rounds long, seeded by the job id. CPU-bound;
/// it checks the token between rounds, so even pure computation stops promptly.
/// </summary>
public sealed class HashJobHandler : IJobHandler
{
    /// <inheritdoc />
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        long iterations = PayloadReader.GetInt64(payload, "iterations") ?? 1;
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
}
