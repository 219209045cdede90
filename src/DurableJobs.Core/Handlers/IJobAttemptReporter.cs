using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>The worker's side of <see cref="JobContext"/>'s progress, heartbeat and checkpoint calls, for one attempt.</summary>
internal interface IJobAttemptReporter
{
    void ReportProgress(double value, string? message);

    void Heartbeat();

    /// <summary>Stores <paramref name="json"/> (the checked, serialized form of <paramref name="checkpoint"/>) durably.</summary>
    ValueTask SaveCheckpointAsync(string json, JsonElement checkpoint, CancellationToken cancellationToken);
}
