using DurableJobs.Core.Validation;

namespace DurableJobs.Client;

/// <summary>What came of a submission.</summary>
public sealed record SubmitOutcome
{
    /// <summary>The batch id (absent when the request was invalid).</summary>
    public string? BatchId { get; init; }

    /// <summary>True when the batch id already named a batch, so nothing new was started.</summary>
    public bool AlreadyExisted { get; init; }

    /// <summary>The problems that stopped the submission; empty when accepted.</summary>
    public ValidationResult Validation { get; init; } = new([]);

    /// <summary>True when a batch (new or existing) answers to <see cref="BatchId"/>.</summary>
    public bool Accepted => Validation.IsValid && BatchId is not null;
}
