using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Serialization;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary><c>durablejobs schedule set|list|show|pause|resume|trigger|delete</c> against a running host's HTTP API.</summary>
internal static class ScheduleCommands
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The schedule's name (letters, digits, '-', '_', '.')." };
        var file = new Argument<FileInfo?>("file") { Description = "A JSON schedule (cron, timeZone, template, overlap, catchUp, startAt, endAt, jitterSeconds); the options below override its fields.", Arity = ArgumentArity.ZeroOrOne };
        var cron = new Option<string?>("--cron") { Description = "Cron expression, 5 fields or 6 (seconds first), e.g. \"0 2 * * *\"." };
        var zone = new Option<string?>("--tz") { Description = "IANA time zone, e.g. Europe/Berlin (default UTC)." };
        var template = new Option<FileInfo?>("--template") { Description = "A JSON batch request: the batch each occurrence starts." };
        var overlap = new Option<string?>("--overlap") { Description = "skip (default), queueOne or allow: what an occurrence does while the previous batch runs." };
        var catchUp = new Option<string?>("--catch-up") { Description = "skip (default) or latest: what happens to occurrences missed while nothing ran." };
        var jitter = new Option<double?>("--jitter") { Description = "Start each occurrence up to this many seconds late (fixed per occurrence)." };

        var set = new Command("set", "Create or update a schedule (an update takes effect from its next occurrence).") { name, file, cron, zone, template, overlap, catchUp, jitter, RemoteCommands.Url, RemoteCommands.ApiKey };
        set.SetAction(async (parse, cancellationToken) =>
        {
            JsonObject body = parse.GetValue(file) is { } path ? ReadObject(path) : [];
            Put(body, "cron", parse.GetValue(cron));
            Put(body, "timeZone", parse.GetValue(zone));
            Put(body, "overlap", parse.GetValue(overlap));
            Put(body, "catchUp", parse.GetValue(catchUp));
            if (parse.GetValue(jitter) is { } seconds)
            {
                body["jitterSeconds"] = seconds;
            }

            if (parse.GetValue(template) is { } templatePath)
            {
                _ = BatchFile.Load(templatePath.FullName); // names a broken template file before anything is sent
                body["template"] = ReadObject(templatePath);
            }

            using ApiClient api = RemoteCommands.Open(parse);
            string scheduleName = parse.GetValue(name)!;
            JsonElement accepted = await api.PutAsync($"api/schedules/{Uri.EscapeDataString(scheduleName)}", body.ToJsonString());
            AnsiConsole.MarkupLine(accepted.GetProperty("created").GetBoolean()
                ? $"Schedule [bold]{Markup.Escape(scheduleName)}[/] created."
                : $"Schedule [bold]{Markup.Escape(scheduleName)}[/] updated (from its next occurrence).");
            return ExitCodes.Success;
        });

        var list = new Command("list", "List the schedules with their next occurrence and last run.") { RemoteCommands.Url, RemoteCommands.ApiKey };
        list.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = RemoteCommands.Open(parse);
            JsonElement page = await api.GetAsync("api/schedules");
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Schedule").AddColumn("Cron").AddColumn("Time zone").AddColumn("State").AddColumn("Next (UTC)").AddColumn("Last run");
            foreach (ScheduleView view in page.GetProperty("items").Deserialize<List<ScheduleView>>(DurableJobsJson.Options)!)
            {
                ScheduleRunView? last = view.Runs.FirstOrDefault();
                table.AddRow(
                    Markup.Escape(view.Name), Markup.Escape(view.Definition.Cron ?? "-"), Markup.Escape(view.Definition.TimeZone ?? "UTC"), view.Paused ? "paused" : "active",
                    view.NextOccurrences.Count > 0 ? view.NextOccurrences[0].ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "-",
                    last is null ? "-" : Markup.Escape($"{last.Occurrence:yyyy-MM-dd HH:mm:ss} {last.Disposition} {last.BatchId}"));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });

        var show = new Command("show", "Show a schedule: its definition, next occurrences and latest runs with their batch and outcome.") { name, RemoteCommands.Url, RemoteCommands.ApiKey };
        show.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = RemoteCommands.Open(parse);
            ScheduleView view = (await api.GetAsync($"api/schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}")).Deserialize<ScheduleView>(DurableJobsJson.Options)!;
            ScheduleDefinitionLine(view);
            var runs = new Table().Border(TableBorder.Rounded).AddColumn("Occurrence (UTC)").AddColumn("Trigger").AddColumn("Disposition").AddColumn("Batch").AddColumn("Outcome").AddColumn("Detail");
            foreach (ScheduleRunView run in view.Runs)
            {
                runs.AddRow(run.Occurrence.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), run.Trigger, run.Disposition.ToString(),
                    Markup.Escape(run.BatchId ?? "-"), run.Outcome?.ToString() ?? "-", Markup.Escape(run.Detail ?? string.Empty));
            }

            AnsiConsole.Write(runs);
            return ExitCodes.Success;
        });

        var schedule = new Command("schedule", "Recurring schedules on a running host: set, list, show, pause, resume, trigger, delete.") { set, list, show };
        foreach ((string verb, string description) in new[]
        {
            ("pause", "Pause a schedule: no occurrence starts until it is resumed."),
            ("resume", "Resume a schedule from its next occurrence (those missed while paused are not run)."),
            ("trigger", "Start an occurrence of a schedule now (also while paused), under its overlap policy."),
        })
        {
            var command = new Command(verb, description) { name, RemoteCommands.Url, RemoteCommands.ApiKey };
            command.SetAction(async (parse, cancellationToken) =>
            {
                using ApiClient api = RemoteCommands.Open(parse);
                await api.PostAsync($"api/schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}/{verb}", "{}");
                AnsiConsole.MarkupLine($"{verb} sent to schedule [bold]{Markup.Escape(parse.GetValue(name)!)}[/]: applied within about a second.");
                return ExitCodes.Success;
            });
            schedule.Subcommands.Add(command);
        }

        var delete = new Command("delete", "Delete a schedule for good (batches it started run on).") { name, RemoteCommands.Url, RemoteCommands.ApiKey };
        delete.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = RemoteCommands.Open(parse);
            await api.DeleteAsync($"api/schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}");
            AnsiConsole.MarkupLine($"Schedule [bold]{Markup.Escape(parse.GetValue(name)!)}[/] deleted.");
            return ExitCodes.Success;
        });
        schedule.Subcommands.Add(delete);
        return schedule;
    }

    private static void ScheduleDefinitionLine(ScheduleView view)
    {
        string state = view.Paused ? "[yellow]paused[/]" : "[green]active[/]";
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(view.Name)}[/] {state}: '{Markup.Escape(view.Definition.Cron ?? string.Empty)}' in {Markup.Escape(view.Definition.TimeZone ?? "UTC")}, overlap {view.Definition.Overlap}, catch-up {view.Definition.CatchUp}, revision {view.Revision}");
        AnsiConsole.MarkupLine($"Next (UTC): {(view.NextOccurrences.Count == 0 ? "-" : string.Join(", ", view.NextOccurrences.Select(n => n.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))))}");
        if (view.Queued is { } queued)
        {
            AnsiConsole.MarkupLine($"Queued: {queued.Occurrence:yyyy-MM-dd HH:mm:ss} as {Markup.Escape(queued.BatchId ?? "-")}");
        }

        if (view.Problem is { } problem)
        {
            AnsiConsole.MarkupLine($"[red]Problem:[/] {Markup.Escape(problem)}");
        }
    }

    private static void Put(JsonObject body, string field, string? value)
    {
        if (value is not null)
        {
            body[field] = value;
        }
    }

    private static JsonObject ReadObject(FileInfo path)
    {
        if (!path.Exists)
        {
            throw new CliException($"The file '{path.FullName}' does not exist.");
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path.FullName)) as JsonObject ?? throw new CliException($"{path.FullName} must hold a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new CliException($"{path.FullName} is not valid JSON: {ex.Message}");
        }
    }
}
