using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>One job of a batch: which handler runs it and with what payload.</summary>
public sealed record JobSpec
{
    /// <summary>Optional job id, unique within the batch. Omitted: the job's zero-based index.</summary>
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    /// <summary>The handler type name (for example <c>delay</c>).</summary>
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    /// <summary>The handler's input, any JSON value.</summary>
    [JsonPropertyName("payload")]
    public JsonElement? Payload { get; init; }

    /// <summary>
    /// Seconds an attempt may go without a heartbeat (its start, <c>JobContext.ReportProgress</c>, <c>Heartbeat</c> or
    /// <c>SaveCheckpointAsync</c>) before it is cancelled and retried. Omitted: the batch's <c>jobTimeoutSeconds</c>.
    /// </summary>
    [JsonPropertyName("jobTimeoutSeconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? JobTimeoutSeconds { get; init; }
}
