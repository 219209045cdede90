namespace DurableJobs.Client;

/// <summary>What came of a delete request.</summary>
public enum DeleteOutcome
{
    /// <summary>The batch (and its re-runs, if any) and everything stored for it are gone.</summary>
    Deleted,

    /// <summary>No batch has that id.</summary>
    NotFound,

    /// <summary>The batch, or one of its re-runs, has not finished: only finished batches are deleted.</summary>
    NotFinished,

    /// <summary>The batch is a re-run and a later re-run of the same batch exists: delete that one first, or the original (which takes all of them).</summary>
    LaterRerunExists,
}
