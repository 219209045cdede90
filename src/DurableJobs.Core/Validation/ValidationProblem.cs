namespace DurableJobs.Core.Validation;

/// <summary>One thing wrong with a request.</summary>
/// <param name="Path">Where, as a JSON field path (<c>jobs[3].type</c>); empty for the request as a whole.</param>
/// <param name="Message">What is wrong, in one sentence.</param>
public sealed record ValidationProblem(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}
