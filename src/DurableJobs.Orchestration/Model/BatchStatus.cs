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
}
