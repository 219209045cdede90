namespace DurableJobs.Client;

/// <summary>What came of a cancel request.</summary>
public enum CancelOutcome
{
    /// <summary>The cancel was recorded; the batch stops shortly.</summary>
    Accepted,

    /// <summary>No batch has that id.</summary>
    NotFound,

    /// <summary>The batch had already finished.</summary>
    AlreadyFinished,
}
