using System.Buffers;

namespace DurableJobs.Api.Parsing;

/// <summary>Reads a body up to a byte limit, so an oversized one is refused after at most limit + 1 bytes.</summary>
internal static class BoundedBodyReader
{
    /// <summary>Reads <paramref name="body"/>; stops and reports <see cref="BodyReadResult.TooLarge"/> once it passes <paramref name="limit"/>.</summary>
    /// <param name="body">The stream.</param>
    /// <param name="declaredLength">The Content-Length, when given: a larger one is refused without reading.</param>
    /// <param name="limit">Most bytes accepted.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    public static async Task<BodyReadResult> ReadAsync(Stream body, long? declaredLength, long limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (declaredLength > limit)
        {
            return new BodyReadResult(null);
        }

        // Grow with the data actually received, never trusting a declared length for the allocation.
        using var buffer = new MemoryStream(declaredLength is { } known ? (int)Math.Min(known, 81920) : 4096);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return new BodyReadResult(null);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return new BodyReadResult(buffer.ToArray());
    }
}
