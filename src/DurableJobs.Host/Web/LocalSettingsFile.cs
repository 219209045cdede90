using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace DurableJobs.Host.Web;

/// <summary>
/// Reads the <c>Values</c> of an Azure Functions <c>local.settings.json</c> as configuration, so one settings
/// file serves the Functions app and the embedded host. Keys keep their names (<c>DurableJobs:HubName</c>);
/// <c>__</c> is read as <c>:</c>, as environment variables are.
/// </summary>
internal static class LocalSettingsFile
{
    /// <summary>The file name Core Tools reads.</summary>
    public const string FileName = "local.settings.json";

    /// <summary>The values of the file at <paramref name="path"/>; empty when there is no such file.</summary>
    /// <exception cref="InvalidOperationException">The file exists but is not a settings file.</exception>
    public static IReadOnlyDictionary<string, string?> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return values;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("Values", out JsonElement section)
                && section.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty setting in section.EnumerateObject())
                {
                    values[setting.Name.Replace("__", ":", StringComparison.Ordinal)] = setting.Value.ValueKind switch
                    {
                        JsonValueKind.String => setting.Value.GetString(),
                        JsonValueKind.Null => null,
                        _ => setting.Value.GetRawText(),
                    };
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        return values;
    }

    /// <summary>
    /// Adds the file's values to <paramref name="configuration"/> above appsettings files and below environment
    /// variables and command-line arguments, so those still override it.
    /// </summary>
    public static void AddTo(IConfigurationBuilder configuration, string path)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IReadOnlyDictionary<string, string?> values = Read(path);
        if (values.Count == 0)
        {
            return;
        }

        var source = new MemoryConfigurationSource { InitialData = values };
        int lastJson = -1;
        for (int i = 0; i < configuration.Sources.Count; i++)
        {
            if (configuration.Sources[i] is JsonConfigurationSource)
            {
                lastJson = i;
            }
        }

        configuration.Sources.Insert(lastJson + 1, source);
    }

}
