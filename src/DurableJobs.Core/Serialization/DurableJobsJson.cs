using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace DurableJobs.Core.Serialization;

/// <summary>The JSON conventions used on every wire of DurableJobs (HTTP, queue, orchestration messages).</summary>
public static class DurableJobsJson
{
    /// <summary>Camel case, string enums, no nulls written, bounded depth.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // A job queue accepts data from strangers: refuse absurd nesting early.
            MaxDepth = 64,
            AllowTrailingCommas = false,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly();
        return options;
    }
}
