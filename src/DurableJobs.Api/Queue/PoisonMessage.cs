using System.Text.Json;
using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Api.Queue;

/// <summary>What lands in the poison queue: the original message, untouched, with why it was set aside.</summary>
internal sealed record PoisonMessage
{
    /// <summary>Why the message could not be processed.</summary>
    [JsonPropertyName("reason")]
    public required string Reason { get; init; }

    /// <summary>The message text exactly as received.</summary>
    [JsonPropertyName("originalMessage")]
    public required string OriginalMessage { get; init; }

    /// <summary>True when <see cref="OriginalMessage"/> was cut to fit a queue message (64 KiB); it then holds the start.</summary>
    [JsonPropertyName("originalTruncated")]
    public bool OriginalTruncated { get; init; }

    /// <summary>The id of the original message.</summary>
    [JsonPropertyName("messageId")]
    public string? MessageId { get; init; }

    /// <summary>How often it had been delivered.</summary>
    [JsonPropertyName("dequeueCount")]
    public long DequeueCount { get; init; }

    /// <summary>When it was set aside.</summary>
    [JsonPropertyName("failedAt")]
    public DateTimeOffset FailedAt { get; init; }

    /// <summary>Most characters of envelope JSON that still fit a queue message after XML escaping.</summary>
    public const int MaxJsonLength = 40 * 1024;

    /// <summary>The envelope as JSON text, the original cut short when the whole would not fit a queue message.</summary>
    public string ToJson()
    {
        string json = JsonSerializer.Serialize(this, DurableJobsJson.Options);
        if (json.Length <= MaxJsonLength)
        {
            return json;
        }

        // Escaping can expand the text several times, so shrink until it fits.
        string original = OriginalMessage;
        while (json.Length > MaxJsonLength && original.Length > 0)
        {
            original = original[..(int)(original.Length * (double)MaxJsonLength / json.Length * 0.9)];
            json = JsonSerializer.Serialize(this with { OriginalMessage = original, OriginalTruncated = true }, DurableJobsJson.Options);
        }

        return json;
    }

    /// <summary>Reads an envelope back (for tools and tests).</summary>
    public static PoisonMessage? FromJson(string json) => JsonSerializer.Deserialize<PoisonMessage>(json, DurableJobsJson.Options);
}
