using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>Where a batch stands, as clients see it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BatchStatus>))]
public enum BatchStatus
{
    /// <summary>Accepted, not started by a worker yet.</summary>
    Pending,

    /// <summary>Jobs are being scheduled or run.</summary>
    Running,

    /// <summary>Every job reached a final status before the deadline (some may have failed).</summary>
    Completed,

    /// <summary>The deadline passed first; unfinished jobs are TimedOut.</summary>
    TimedOut,

    /// <summary>A client cancelled the batch; unfinished jobs are Cancelled.</summary>
    Cancelled,

    /// <summary>The orchestration itself failed (not a job: a job failure leaves the batch Completed).</summary>
    Failed,

    /// <summary>A delayed batch waiting for its start time; it can be cancelled before any job runs.</summary>
    Scheduled,

    /// <summary>The failure budget (<c>abortWhen</c>) was spent: the batch stopped as a cancel stops it; unfinished jobs are Cancelled.</summary>
    Aborted,

    /// <summary>Paused by a client: no new chunk is granted until it is resumed (chunks already granted finish); the deadline still counts.</summary>
    Paused,
}
