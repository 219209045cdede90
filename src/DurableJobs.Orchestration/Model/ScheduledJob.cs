using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>A job as the engine carries it: id resolved, position in the batch kept.</summary>
/// <param name="Index">Zero-based position in the batch.</param>
/// <param name="Id">The job id.</param>
/// <param name="Type">The handler type.</param>
/// <param name="Payload">The handler input.</param>
/// <param name="TimeoutSeconds">The job's <c>jobTimeoutSeconds</c> (its own or its batch's), null for none.</param>
internal sealed record ScheduledJob(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("payload")] JsonElement? Payload,
    [property: JsonPropertyName("timeoutSeconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? TimeoutSeconds = null);
