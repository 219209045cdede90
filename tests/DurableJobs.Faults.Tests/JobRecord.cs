using System.Text.Json;

namespace DurableJobs.Faults.Tests;

/// <summary>One job result as the API lists it.</summary>
public sealed record JobRecord(string Id, string Status, int Attempts, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Worker, JsonElement? Output, int Throttled = 0)
{
    public static JobRecord From(JsonElement item) => new(
        item.GetProperty("id").GetString()!,
        item.GetProperty("status").GetString()!,
        item.GetProperty("attempts").GetInt32(),
        Time(item, "startedAt"),
        Time(item, "finishedAt"),
        item.TryGetProperty("worker", out JsonElement worker) && worker.ValueKind == JsonValueKind.String ? worker.GetString() : null,
        item.TryGetProperty("output", out JsonElement output) && output.ValueKind != JsonValueKind.Null ? output.Clone() : null,
        item.TryGetProperty("throttled", out JsonElement throttled) ? throttled.GetInt32() : 0);

    private static DateTimeOffset? Time(JsonElement item, string name) =>
        item.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;
}
