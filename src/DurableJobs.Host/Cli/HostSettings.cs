using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace DurableJobs.Host.Cli;

/// <summary>
/// Configuration shared by every command: <c>appsettings.json</c>, then <c>local.settings.json</c>'s
/// <c>Values</c> (the Azure Functions file, so one settings file serves both hosts), then environment
/// variables, then explicit overrides.
/// </summary>
internal static class HostSettings
{
    public const string LocalSettingsFile = "local.settings.json";

    public static void AddDurableJobsSources(this IConfigurationBuilder builder, IDictionary<string, string?>? overrides = null)
    {
        builder.AddJsonFile("appsettings.json", optional: true);
        builder.AddInMemoryCollection(ReadLocalSettings(Path.Combine(Directory.GetCurrentDirectory(), LocalSettingsFile)));
        builder.AddEnvironmentVariables();
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }
    }

    /// <summary>The <c>Values</c> of a Functions-style settings file; empty when there is none.</summary>
    public static IDictionary<string, string?> ReadLocalSettings(string path)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return values;
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (doc.RootElement.TryGetProperty("Values", out JsonElement settings) && settings.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty setting in settings.EnumerateObject())
            {
                // Functions allows "__" for ":" in names; accept both spellings.
                values[setting.Name.Replace("__", ":", StringComparison.Ordinal)] = setting.Value.ValueKind == JsonValueKind.String ? setting.Value.GetString() : setting.Value.GetRawText();
            }
        }

        return values;
    }
}
