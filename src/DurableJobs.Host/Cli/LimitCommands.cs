using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary><c>durablejobs limits [set NAME --max N --rate R --burst B]</c> against a running host's HTTP API.</summary>
internal static class LimitCommands
{
    public static Command Create()
    {
        var limits = new Command("limits", "List the named limits: configured, effective (after downstream throttling), in use, leases and waiting workers.") { RemoteCommands.Url, RemoteCommands.ApiKey };
        limits.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = RemoteCommands.Open(parse);
            JsonElement page = await api.GetAsync("api/limits");
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Limit").AddColumn("Max concurrent").AddColumn("Effective").AddColumn("Rate /s").AddColumn("In use").AddColumn("Waiting workers").AddColumn("Leases");
            foreach (JsonElement item in page.GetProperty("items").EnumerateArray())
            {
                table.AddRow(
                    Markup.Escape(item.GetProperty("name").GetString()!),
                    Text(item, "maxConcurrent"),
                    Text(item, "effective"),
                    Text(item, "ratePerSecond"),
                    item.GetProperty("inUse").GetInt32().ToString(CultureInfo.InvariantCulture),
                    item.GetProperty("waitingWorkers").GetInt32().ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", item.GetProperty("leases").EnumerateArray().Select(l => $"{l.GetProperty("worker").GetString()}={l.GetProperty("permits").GetInt32()}"))));
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

    private static string Text(JsonElement item, string property) =>
        item.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "-";
}
