using System.Text.Json;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Host.Cli;

/// <summary>Reads a batch request from a JSON file, with errors that name the file, the line and the field.</summary>
internal static class BatchFile
{
    public static BatchRequest Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"The batch file '{path}' does not exist.");
        }

        try
        {
            using FileStream stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<BatchRequest>(stream, DurableJobsJson.Options)
                ?? throw new CliException($"{path}: the file holds JSON null; expected a batch object with a \"jobs\" array.");
        }
        catch (JsonException ex)
        {
            string where = ex.LineNumber is { } line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1}, field {ex.Path ?? "$"})" : string.Empty;
            throw new CliException($"{path} is not a valid batch{where}: {ex.Message.Split(" Path:", 2)[0]}");
        }
    }
}
