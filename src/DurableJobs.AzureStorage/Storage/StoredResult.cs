using System.Text.Json.Serialization;
using DurableJobs.Core.Model;

namespace DurableJobs.Engine.Storage;

/// <summary>A result cell of a group row: the result, and where its output went when it was too large to inline.</summary>
internal sealed record StoredResult(
    [property: JsonPropertyName("r")] JobResult Result,
    [property: JsonPropertyName("ob")] string? OutputBlob);
