using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DurableJobs.Core.Serialization;

/// <summary>
/// An ISO 8601 date and time that must carry its offset (<c>Z</c> or <c>+02:00</c>): without one, "18:00" would mean
/// the clock of whichever machine parsed it, and the machines of a cluster need not agree.
/// </summary>
internal sealed class OffsetDateTimeConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("Expected an ISO 8601 date and time with an offset, such as \"2026-12-01T18:00:00+01:00\".");
        }

        string text = reader.GetString()!;
        if (!HasOffset(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset value))
        {
            throw new JsonException($"\"{text}\" is not an ISO 8601 date and time with an offset (such as \"2026-12-01T18:00:00Z\" or \"2026-12-01T18:00:00+01:00\").");
        }

        return value;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString("O", CultureInfo.InvariantCulture));
    }

    /// <summary>True when <paramref name="text"/> ends with <c>Z</c> or <c>±hh:mm</c> after a time.</summary>
    public static bool HasOffset(string text)
    {
        int t = text.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        if (t < 0)
        {
            return false;
        }

        string time = text[(t + 1)..];
        return time.EndsWith('Z') || time.EndsWith('z') || time.LastIndexOfAny(['+', '-']) is var sign and > 0 && time.Length - sign == 6 && time[^3] == ':';
    }
}
