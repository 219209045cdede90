using System.Globalization;
using System.Text.Json;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// Bounds on what a handler reports while it runs, checked before anything is stored so that a report Azure would
/// refuse fails in the handler, naming the field, on every storage (Azurite enforces no entity limit).
/// </summary>
internal static class JobReportLimits
{
    /// <summary>Most characters of a progress message.</summary>
    public const int MaxMessageChars = 500;

    /// <summary>
    /// Most characters of a checkpoint as stored (JSON, escaped by the project's serializer): one Azure Table string
    /// property holds 64 KiB of UTF-16, 32 Ki characters (TableEntityLimits.MaxStringChars).
    /// </summary>
    public const int MaxCheckpointChars = 32 * 1024;

    public static void CheckProgress(double value, string? message)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Progress must be a finite number.");
        }

        if (message is { Length: > MaxMessageChars })
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The progress message is {message.Length} characters; at most {MaxMessageChars} are stored. Nothing was reported."),
                nameof(message));
        }
    }

    /// <summary>The checkpoint as it is stored, or an exception naming the parameter when it is too large.</summary>
    public static string CheckCheckpoint(JsonElement checkpoint)
    {
        if (checkpoint.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The checkpoint is an undefined JSON element.", nameof(checkpoint));
        }

        string json = JsonSerializer.Serialize(checkpoint, DurableJobsJson.Options);
        return json.Length <= MaxCheckpointChars
            ? json
            : throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The checkpoint is {json.Length} characters of JSON; at most {MaxCheckpointChars} are stored (one Azure Table property). Nothing was saved."),
                nameof(checkpoint));
    }
}
