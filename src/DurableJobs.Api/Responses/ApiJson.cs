using System.Text.Json;
using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Api.Responses;

/// <summary>The JSON options of API responses: the wire conventions, but nulls written so every documented field is present.</summary>
internal static class ApiJson
{
    /// <summary>The options.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(DurableJobsJson.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
        options.MakeReadOnly();
        return options;
    }
}
