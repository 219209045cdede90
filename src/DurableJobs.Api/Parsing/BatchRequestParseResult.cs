using DurableJobs.Api.Http;
using DurableJobs.Core.Model;

namespace DurableJobs.Api.Parsing;

/// <summary>A parsed batch request, or why the bytes are not one.</summary>
/// <param name="Request">The request (null for a JSON <c>null</c>, which validation then rejects).</param>
/// <param name="Error">The problem; null when parsing succeeded.</param>
internal sealed record BatchRequestParseResult(BatchRequest? Request, ApiError? Error)
{
    /// <summary>True when the bytes were a JSON batch request of the right shape.</summary>
    public bool Succeeded => Error is null;
}
