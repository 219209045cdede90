using DurableJobs.Core.Validation;

namespace DurableJobs.Client;

/// <summary>What came of a re-run request.</summary>
public sealed record RerunOutcome
{
    /// <summary>Accepted (the re-run started), NotFound, NotFinished, NothingToRerun, or Invalid (see <see cref="Validation"/>).</summary>
    public required ControlOutcome Outcome { get; init; }

    /// <summary>The re-run's batch id, when it started.</summary>
    public string? BatchId { get; init; }

    /// <summary>How many jobs it runs.</summary>
    public int JobCount { get; init; }

    /// <summary>Problems with the request's overrides; valid when there are none.</summary>
    public ValidationResult Validation { get; init; } = new([]);
}
