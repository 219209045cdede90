using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>Counts of a batch's jobs per status.</summary>
public sealed record BatchSummary
{
    /// <summary>All jobs of the batch.</summary>
    [JsonPropertyName("total")]
    public int Total { get; init; }

    /// <summary>Jobs that succeeded.</summary>
    [JsonPropertyName("succeeded")]
    public int Succeeded { get; init; }

    /// <summary>Jobs that failed.</summary>
    [JsonPropertyName("failed")]
    public int Failed { get; init; }

    /// <summary>Jobs stopped or never started because the deadline passed.</summary>
    [JsonPropertyName("timedOut")]
    public int TimedOut { get; init; }

    /// <summary>Jobs stopped or never started because the batch was cancelled.</summary>
    [JsonPropertyName("cancelled")]
    public int Cancelled { get; init; }

    /// <summary>Jobs in flight.</summary>
    [JsonPropertyName("running")]
    public int Running { get; init; }

    /// <summary>Jobs not started yet.</summary>
    [JsonPropertyName("pending")]
    public int Pending { get; init; }

    /// <summary>Jobs in a final status.</summary>
    [JsonIgnore]
    public int Finished => Succeeded + Failed + TimedOut + Cancelled;

    /// <summary>
    /// These counts plus <paramref name="other"/>'s (finished and running), over this summary's total: how the
    /// parts of a batch add up. Pending is what is left.
    /// </summary>
    public BatchSummary Plus(BatchSummary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var sum = new BatchSummary
        {
            Total = Total,
            Succeeded = Succeeded + other.Succeeded,
            Failed = Failed + other.Failed,
            TimedOut = TimedOut + other.TimedOut,
            Cancelled = Cancelled + other.Cancelled,
            Running = Running + other.Running,
        };
        return sum with { Pending = Total - sum.Finished - sum.Running };
    }
}
