using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>Where a job stands. The last four are final.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    /// <summary>Not started yet.</summary>
    Pending,

    /// <summary>Handed to a worker and not finished.</summary>
    Running,

    /// <summary>The handler returned.</summary>
    Succeeded,

    /// <summary>The handler failed on its last allowed attempt.</summary>
    Failed,

    /// <summary>The batch deadline passed before the job finished.</summary>
    TimedOut,

    /// <summary>The batch was cancelled before the job finished.</summary>
    Cancelled,
}
