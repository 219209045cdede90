using System.Text.Json;

namespace DurableJobs.Core.Handlers;

/// <summary>Reads optional fields of a handler payload with clear errors.</summary>
internal static class PayloadReader
{
    public static long? GetInt64(JsonElement payload, string name)
    {
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(name, out JsonElement value)
            || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) && number >= 0
            ? number
            : throw new JobPayloadException($"Payload field '{name}' must be a non-negative whole number.");
    }

    public static string? GetString(JsonElement payload, string name) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(name, out JsonElement value)
            && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
