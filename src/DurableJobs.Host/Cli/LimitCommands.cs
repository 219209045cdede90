using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary><c>durablejobs limits [set NAME --max N --rate R --burst B]</c> against a running host's HTTP API.</summary>
internal static class LimitCommands
{
    public static Command Create()
    {
        var limits = new Command("limits", "List the named limits: configured, effective, in use, waiting workers and batches, leases.") { RemoteCommands.Url, RemoteCommands.ApiKey };
        limits.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = RemoteCommands.Open(parse);
            JsonElement page = await api.GetAsync("api/limits");
            var table = new Table().Border(TableBorder.Rounded);
            foreach (string column in Columns)
            {
                table.AddColumn(column);
            }

            foreach (string[] row in Rows(page))
            {
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });

        var name = new Argument<string>("name") { Description = "The limit's name (letters, digits, '-', '_', '.')." };
        var max = new Option<int?>("--max") { Description = "Most jobs holding the limit at once, across every batch and worker." };
        var rate = new Option<double?>("--rate") { Description = "Most job starts per second in the long run (a token bucket)." };
        var burst = new Option<double?>("--burst") { Description = "The token bucket's size (default: one second's worth)." };
        var set = new Command("set", "Create or change a named limit (every worker obeys it within a lease round).") { name, max, rate, burst, RemoteCommands.Url, RemoteCommands.ApiKey };
        set.SetAction(async (parse, cancellationToken) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(max) is { } m)
            {
                body["maxConcurrent"] = m;
            }

            if (parse.GetValue(rate) is { } r)
            {
                body["ratePerSecond"] = r;
            }

            if (parse.GetValue(burst) is { } b)
            {
                body["burst"] = b;
            }

            using ApiClient api = RemoteCommands.Open(parse);
            string limitName = parse.GetValue(name)!;
            await api.PutAsync($"api/limits/{Uri.EscapeDataString(limitName)}", body.ToJsonString());
            AnsiConsole.MarkupLine($"Limit [bold]{Markup.Escape(limitName)}[/] set.");
            return ExitCodes.Success;
        });
        limits.Subcommands.Add(set);
        return limits;
    }

    /// <summary>The columns of <c>durablejobs limits</c>.</summary>
    internal static readonly string[] Columns = ["Limit", "Max concurrent", "Effective", "In use", "Waiting workers", "Waiting batches", "Rate /s", "Burst", "Leases"];

    /// <summary>
    /// A row per limit of a <c>GET /api/limits</c> answer, as plain text: a field the host does not send (an older host,
    /// or a limit without a concurrency or rate part) shows as "-".
    /// </summary>
    internal static IEnumerable<string[]> Rows(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(item => new[]
        {
            item.TryGetProperty("name", out JsonElement name) ? name.GetString() ?? "-" : "-",
            Text(item, "maxConcurrent"),
            Text(item, "effective"),
            Text(item, "inUse"),
            Text(item, "waitingWorkers"),
            Text(item, "waitingBatches"),
            Text(item, "ratePerSecond"),
            Text(item, "burst"),
            item.TryGetProperty("leases", out JsonElement leases) && leases.ValueKind == JsonValueKind.Array && leases.GetArrayLength() > 0
                ? string.Join(", ", leases.EnumerateArray().Select(l => $"{l.GetProperty("worker").GetString()}={l.GetProperty("permits").GetInt32()}"))
                : "-",
        });

    private static string Text(JsonElement item, string property) =>
        item.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "-";
}
