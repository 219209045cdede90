using System.Text.Json.Serialization;

namespace DurableJobs.Engine.Storage;

/// <summary>Stands in for an output kept in a blob until the store downloads it.</summary>
internal sealed record OutputReference([property: JsonPropertyName(OutputReference.Marker)] string Blob)
{
    public const string Marker = "$durableJobsOutputBlob";
}
