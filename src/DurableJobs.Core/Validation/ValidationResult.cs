namespace DurableJobs.Core.Validation;

/// <summary>Every problem found in a request; valid when there is none.</summary>
public sealed class ValidationResult
{
    /// <summary>Creates a result from the problems found.</summary>
    public ValidationResult(IReadOnlyList<ValidationProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Problems = problems;
    }

    /// <summary>The problems, in the order found.</summary>
    public IReadOnlyList<ValidationProblem> Problems { get; }

    /// <summary>True when nothing is wrong.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>The problems grouped by field path, as RFC 7807 validation details expect.</summary>
    public IDictionary<string, string[]> ToDictionary() =>
        Problems.GroupBy(p => p.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray(), StringComparer.Ordinal);

    /// <inheritdoc />
    public override string ToString() => IsValid ? "valid" : string.Join("; ", Problems);
}
