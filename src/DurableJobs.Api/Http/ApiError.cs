using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace DurableJobs.Api.Http;

/// <summary>An RFC 7807 problem the API answers with, independent of the host that writes it.</summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Code">One of <see cref="ApiErrorCodes"/>.</param>
/// <param name="Title">A short summary, the same for every occurrence of the code.</param>
/// <param name="Detail">What exactly went wrong here.</param>
/// <param name="Errors">Problems keyed by field path or parameter name, when there are some.</param>
internal sealed record ApiError(int Status, string Code, string Title, string Detail, IDictionary<string, string[]>? Errors = null)
{
    /// <summary>The problem details body.</summary>
    public ProblemDetails ToProblemDetails()
    {
        // The validation subtype is the standard carrier of "errors" keyed by field.
        ProblemDetails details = Errors is null ? new ProblemDetails() : new HttpValidationProblemDetails(Errors);
        details.Status = Status;
        details.Title = Title;
        details.Detail = Detail;
        details.Extensions["code"] = Code;
        return details;
    }

    /// <summary>The <c>application/problem+json</c> result.</summary>
    public IResult ToResult() => TypedResults.Problem(ToProblemDetails());
}
