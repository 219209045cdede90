using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary><c>submit</c>, <c>status</c>, <c>watch</c>, <c>jobs</c>, <c>cancel</c>, <c>delete</c>, <c>pause</c>, <c>resume</c> and <c>rerun</c> against a running host's HTTP API.</summary>
internal static class RemoteCommands
{
    internal static readonly Option<string> Url = new("--url") { Description = "The host's base URL.", DefaultValueFactory = _ => "http://127.0.0.1:7071", Recursive = true };
    internal static readonly Option<string?> ApiKey = new("--api-key") { Description = "The host's API key (default: DurableJobs__ApiKey).", Recursive = true };

    public static IEnumerable<Command> Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "A JSON batch request." };
        var submit = new Command("submit", "Submit the batch in FILE to a running host and print its id.") { file, Url, ApiKey };
        submit.SetAction(async (parse, cancellationToken) =>
        {
            FileInfo path = parse.GetValue(file)!;
            _ = BatchFile.Load(path.FullName); // a local check names the problem before anything is sent
            using ApiClient api = Open(parse);
            JsonElement accepted = await api.PostAsync("api/batches", await File.ReadAllTextAsync(path.FullName));
            string id = accepted.GetProperty("id").GetString()!;
            bool existing = accepted.TryGetProperty("existing", out JsonElement e) && e.ValueKind == JsonValueKind.True;
            AnsiConsole.MarkupLine(existing ? $"Batch [bold]{id}[/] already existed: nothing new was started." : $"Submitted batch [bold]{id}[/].");
            Console.WriteLine(id);
            return ExitCodes.Success;
        });

        var id = new Argument<string>("id") { Description = "The batch id." };
        var status = new Command("status", "Print a batch's status and counts.") { id, Url, ApiKey };
        status.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            JsonElement batch = await api.GetAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}");
            Console.WriteLine(JsonSerializer.Serialize(batch, Indented));
            return ExitCodes.Success;
        });

        var show = new Command("show", "Print a batch's status in a line: its counts, or when a Scheduled batch starts.") { id, Url, ApiKey };
        show.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            JsonElement batch = await api.GetAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}");
            BatchView view = batch.Deserialize<BatchView>(DurableJobsJson.Options)!;
            Console.WriteLine(view.StartAt is { } startAt
                ? $"{view.Id} {view.Status}: starts at {startAt:O} (in {Math.Max(0, (startAt - DateTimeOffset.UtcNow).TotalSeconds):0} s), {view.Total} jobs"
                : $"{view.Id} {view.Status}: {BatchProgressView.Counts(view, markup: false)}");
            return ExitCodes.Success;
        });

        var watch = new Command("watch", "Follow a batch until it finishes; exit 0 only if every job succeeded.") { id, Url, ApiKey };
        watch.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            string batchId = parse.GetValue(id)!;
            string last = string.Empty;
            while (true)
            {
                // The API answers with the client's own BatchView: read it back as one, and print it as `run` does.
                JsonElement batch = await api.GetAsync($"api/batches/{Uri.EscapeDataString(batchId)}");
                BatchView view = batch.Deserialize<BatchView>(DurableJobsJson.Options)!;
                string line = $"{view.Status,-9} {BatchProgressView.Counts(view, markup: false)}";
                if (line != last)
                {
                    Console.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");
                    last = line;
                }

                if (view.IsFinished)
                {
                    return ExitCodes.For(view);
                }

                await Task.Delay(500);
            }
        });

        var statusFilter = new Option<string?>("--status") { Description = "Only jobs of this status (Succeeded, Failed, TimedOut, Cancelled; Running: the jobs running now, with their progress)." };
        var top = new Option<int>("--top") { Description = "Jobs per page.", DefaultValueFactory = _ => 50 };
        var jobs = new Command("jobs", "List a batch's job results (every page).") { id, statusFilter, top, Url, ApiKey };
        jobs.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            string batchId = Uri.EscapeDataString(parse.GetValue(id)!);
            bool running = string.Equals(parse.GetValue(statusFilter), "Running", StringComparison.OrdinalIgnoreCase);
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Job").AddColumn("Type").AddColumn("Status").AddColumn("Attempts").AddColumn("Started");
            table = running ? table.AddColumn("Progress").AddColumn("Message").AddColumn("Reported").AddColumn("Worker") : table.AddColumn("Finished").AddColumn("Error");
            string? continuation = null;
            do
            {
                string query = $"?top={parse.GetValue(top)}" + (parse.GetValue(statusFilter) is { } s ? $"&status={Uri.EscapeDataString(s)}" : string.Empty)
                    + (continuation is null ? string.Empty : $"&continuationToken={Uri.EscapeDataString(continuation)}");
                JsonElement page = await api.GetAsync($"api/batches/{batchId}/jobs{query}");
                foreach (JsonElement job in page.GetProperty("items").EnumerateArray())
                {
                    if (running)
                    {
                        JsonElement progress = job.TryGetProperty("progress", out JsonElement p) && p.ValueKind == JsonValueKind.Object ? p : default;
                        table.AddRow(Text(job, "id"), Text(job, "type"), Text(job, "status"), job.GetProperty("attempts").GetInt32().ToString(CultureInfo.InvariantCulture),
                            Text(job, "startedAt"),
                            progress.ValueKind == JsonValueKind.Object && progress.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.Number
                                ? value.GetDouble().ToString("0.##", CultureInfo.InvariantCulture) : "-",
                            progress.ValueKind == JsonValueKind.Object ? Text(progress, "message") : "-",
                            progress.ValueKind == JsonValueKind.Object ? Text(progress, "reportedAt") : "-",
                            Text(job, "worker"));
                        continue;
                    }

                    table.AddRow(Text(job, "id"), Text(job, "type"), Text(job, "status"), job.GetProperty("attempts").GetInt32().ToString(CultureInfo.InvariantCulture),
                        Text(job, "startedAt"), Text(job, "finishedAt"),
                        job.TryGetProperty("error", out JsonElement error) && error.ValueKind == JsonValueKind.Object ? Markup.Escape(error.GetProperty("message").GetString() ?? string.Empty) : "-");
                }

                continuation = page.TryGetProperty("continuationToken", out JsonElement next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            }
            while (continuation is not null);

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });

        var cancel = new Command("cancel", "Cancel a running batch.") { id, Url, ApiKey };
        cancel.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            await api.PostAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}/cancel", "{}");
            AnsiConsole.MarkupLine($"Cancel accepted for batch [bold]{Markup.Escape(parse.GetValue(id)!)}[/]: running jobs stop within about a second.");
            return ExitCodes.Success;
        });

        var delete = new Command("delete", "Delete a finished batch, its re-runs and everything stored for them.") { id, Url, ApiKey };
        delete.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            await api.DeleteAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}");
            AnsiConsole.MarkupLine($"Batch [bold]{Markup.Escape(parse.GetValue(id)!)}[/] deleted.");
            return ExitCodes.Success;
        });

        var pause = new Command("pause", "Pause a batch: no new chunk starts until resume; running chunks finish; the deadline still counts.") { id, Url, ApiKey };
        pause.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            await api.PostAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}/pause", "{}");
            AnsiConsole.MarkupLine($"Pause accepted for batch [bold]{Markup.Escape(parse.GetValue(id)!)}[/]: running chunks finish, nothing new starts.");
            return ExitCodes.Success;
        });

        var resume = new Command("resume", "Resume a paused batch.") { id, Url, ApiKey };
        resume.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            await api.PostAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}/resume", "{}");
            AnsiConsole.MarkupLine($"Resume accepted for batch [bold]{Markup.Escape(parse.GetValue(id)!)}[/].");
            return ExitCodes.Success;
        });

        var rerunStatuses = new Option<string[]>("--status") { Description = "Re-run the jobs of these statuses (default: Failed and TimedOut).", AllowMultipleArgumentsPerToken = true };
        var rerunCap = new Option<int?>("--max-parallel") { Description = "The re-run's cap (default: the batch's)." };
        var rerun = new Command("rerun", "Start a new batch {id}.rN of the jobs of a finished batch that failed or timed out, and print its id.") { id, rerunStatuses, rerunCap, Url, ApiKey };
        rerun.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            var request = new RerunRequest
            {
                Statuses = parse.GetValue(rerunStatuses) is { Length: > 0 } names ? [.. names.Select(ParseStatus)] : null,
                MaxParallel = parse.GetValue(rerunCap),
            };
            JsonElement accepted = await api.PostAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}/rerun", JsonSerializer.Serialize(request, DurableJobsJson.Options));
            string rerunId = accepted.GetProperty("id").GetString()!;
            AnsiConsole.MarkupLine($"Re-run [bold]{Markup.Escape(rerunId)}[/] started.");
            Console.WriteLine(rerunId);
            return ExitCodes.Success;
        });

        var capValue = new Argument<int>("max-parallel") { Description = "The new cap." };
        var cap = new Command("cap", "Change a running batch's cap: a rise applies at once, a fall once the chunks granted under the old cap finish.") { id, capValue, Url, ApiKey };
        cap.SetAction(async (parse, cancellationToken) =>
        {
            using ApiClient api = Open(parse);
            await api.PatchAsync($"api/batches/{Uri.EscapeDataString(parse.GetValue(id)!)}", JsonSerializer.Serialize(new { maxParallel = parse.GetValue(capValue) }));
            AnsiConsole.MarkupLine($"Cap of batch [bold]{Markup.Escape(parse.GetValue(id)!)}[/] set to {parse.GetValue(capValue)}.");
            return ExitCodes.Success;
        });

        return [submit, status, show, watch, jobs, cancel, delete, pause, resume, rerun, cap];
    }

    private static JobStatus ParseStatus(string name) =>
        name.All(char.IsAsciiLetter) && Enum.TryParse(name, ignoreCase: true, out JobStatus status)
            ? status
            : throw new CliException($"--status must be one of {string.Join(", ", Enum.GetNames<JobStatus>())} (got '{name}').");

    private static JsonSerializerOptions Indented { get; } = new(DurableJobsJson.Options) { WriteIndented = true };

    internal static ApiClient Open(ParseResult parse) =>
        new(parse.GetValue(Url)!, parse.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("DurableJobs__ApiKey"));

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? Markup.Escape(value.ToString()) : "-";
}
