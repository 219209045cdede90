using System.Globalization;
using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>Reads optional fields of a handler payload with clear errors, each naming its field.</summary>
internal static class PayloadReader
{
    public static long? GetInt64(JsonElement payload, string name, long max)
    {
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(name, out JsonElement value)
            || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long number) || number < 0)
        {
            throw new JobPayloadException(name, $"Payload field '{name}' must be a non-negative whole number.");
        }

        return number <= max
            ? number
            : throw new JobPayloadException(name, string.Create(CultureInfo.InvariantCulture, $"Payload field '{name}' must be at most {max} (got {number})."));
    }

    public static string? GetString(JsonElement payload, string name, int maxLength)
    {
        string? text = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(name, out JsonElement value)
            && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
        return text is { Length: var length } && length > maxLength
            ? throw new JobPayloadException(name, string.Create(CultureInfo.InvariantCulture, $"Payload field '{name}' must be at most {maxLength} characters long (got {length})."))
            : text;
    }
}
