namespace DurableJobs.Api.Parsing;

/// <summary>A request body read within a limit: its bytes, or the fact that it was too large.</summary>
/// <param name="Body">The bytes; null when the body exceeded the limit.</param>
internal sealed record BodyReadResult(ReadOnlyMemory<byte>? Body)
{
    /// <summary>True when the body exceeded the limit (and was not read to its end).</summary>
    public bool TooLarge => Body is null;
}
