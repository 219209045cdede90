using System.Text.Json.Serialization;

namespace DurableJobs.Orchestration.Model;

/// <summary>A change of a running batch's cap, as the orchestrator took it: from <see cref="From"/> to <see cref="To"/> at <see cref="AtUtc"/>.</summary>
/// <param name="AtUtc">When the orchestrator took the change (UTC). A fall takes effect once the chunks under the old cap finished.</param>
/// <param name="From">The cap before.</param>
/// <param name="To">The cap after.</param>
public sealed record CapStep(
    [property: JsonPropertyName("atUtc")] DateTime AtUtc,
    [property: JsonPropertyName("from")] int From,
    [property: JsonPropertyName("to")] int To);
