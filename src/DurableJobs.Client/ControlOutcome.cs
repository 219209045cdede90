namespace DurableJobs.Client;

/// <summary>What came of a pause, resume, cap change or re-run request.</summary>
public enum ControlOutcome
{
    /// <summary>The request was accepted.</summary>
    Accepted,

    /// <summary>No batch has that id.</summary>
    NotFound,

    /// <summary>The batch has already finished, so it cannot be paused or resumed.</summary>
    AlreadyFinished,

    /// <summary>The batch has not finished yet, so it cannot be re-run.</summary>
    NotFinished,

    /// <summary>The batch has no job of the statuses asked for, so a re-run would be empty.</summary>
    NothingToRerun,

    /// <summary>The request is invalid (a re-run's overrides, a cap outside the limits); nothing was changed.</summary>
    Invalid,
}
