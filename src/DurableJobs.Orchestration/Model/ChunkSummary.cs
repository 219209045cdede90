using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>
/// What a job activity reports back: counts, not results (those are in the batch store), so the
/// orchestration's history grows by a few hundred bytes per chunk whatever the jobs return.
/// </summary>
internal sealed record ChunkSummary
{
    /// <summary>Jobs that succeeded.</summary>
    [JsonPropertyName("succeeded")]
    public int Succeeded { get; init; }

    /// <summary>Jobs that failed.</summary>
    [JsonPropertyName("failed")]
    public int Failed { get; init; }

    /// <summary>Jobs stopped by the deadline.</summary>
    [JsonPropertyName("timedOut")]
    public int TimedOut { get; init; }

    /// <summary>Jobs stopped by a cancel.</summary>
    [JsonPropertyName("cancelled")]
    public int Cancelled { get; init; }

    /// <summary>Milliseconds the chunk's jobs ran, summed over jobs (for chunk sizing).</summary>
    [JsonPropertyName("busyMilliseconds")]
    public double BusyMilliseconds { get; init; }

    /// <summary>Jobs whose result was already recorded by an earlier delivery, so their handler did not run again.</summary>
    [JsonPropertyName("alreadyRecorded")]
    public int AlreadyRecorded { get; init; }

    /// <summary>
    /// The chunk ran nothing and recorded nothing: it was granted ahead, and the chunk before it in its lane was not
    /// running in the process that got it. The orchestrator grants it again, ready, once that chunk has finished.
    /// </summary>
    [JsonPropertyName("deferred")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Deferred { get; init; }

    /// <summary>All jobs of the chunk.</summary>
    [JsonIgnore]
    public int Total => Succeeded + Failed + TimedOut + Cancelled;
}
