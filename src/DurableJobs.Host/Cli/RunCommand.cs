using System.CommandLine;
using System.Diagnostics;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Engine.Hosting;
using DurableJobs.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using ValidationResult = DurableJobs.Core.Validation.ValidationResult;

namespace DurableJobs.Host.Cli;

/// <summary>
/// <c>durablejobs run FILE</c>: the main job. Starts the embedded engine (and Azurite when needed) in this
/// process, submits the batch, shows live progress, prints a summary, and exits 0 only if every job
/// succeeded. Ctrl+C cancels the batch gracefully (exit 130, after the summary of what was cancelled); a second
/// Ctrl+C quits at once.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "A JSON batch request (see samples/)." };
        var verbose = new Option<bool>("--verbose") { Description = "Show the engine's logs (information and above, with times, Durable Task's included) on stderr." };
        var at = new Option<string?>("--at") { Description = "Start the batch at this time (ISO 8601 with an offset, such as 2026-12-01T18:00:00+01:00); it is Scheduled until then." };
        var priority = new Option<int?>("--priority") { Description = "The batch's priority in the turns of its named limits, 1 (lowest) to 5 (default: the file's, else 3)." };
        var tenant = new Option<string?>("--tenant") { Description = "Who the batch runs for: tenants take equal turns on a named limit (default: the file's)." };
        var command = new Command("run", "Run the batch in FILE on the embedded engine with live progress, then print a summary.") { file, verbose, at, priority, tenant };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(file)!, parse.GetValue(verbose), StartTime.Parse(parse.GetValue(at)), parse.GetValue(priority), parse.GetValue(tenant)));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo file, bool verbose, DateTimeOffset? at, int? priority, string? tenant)
    {
        BatchRequest request = BatchFile.Load(file.FullName);
        if (at is not null)
        {
            request = request with { StartAt = at, StartAfterSeconds = null };
        }

        // Checked with the rest of the request below, so a bad value is named like a bad field of the file.
        request = request with { Priority = priority ?? request.Priority, Tenant = tenant ?? request.Tenant };

        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        HostConfiguration.AddSources(builder.Configuration);
        var ownLogs = new OwnBatchLogs();
        ConfigureQuietLogging(builder.Logging, verbose, ownLogs);
        builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
        builder.Services.AddDurableJobsTelemetry(builder.Configuration);
        IHost host = builder.Build();
        Func<int> report;

        // From before the engine starts: a Ctrl+C while it starts must stop run, not go unnoticed (or crash it).
        using var interrupt = new ConsoleInterrupt();
        try
        {
            report = await RunAsync(host, request, file, interrupt, ownLogs);
        }
        finally
        {
            // Asynchronously: the engine then stops the emulator it started gracefully (SIGTERM and a wait for it to
            // save), which a synchronous dispose cannot.
            await HostDisposal.DisposeAsync(host);
        }

        // Only now, with the engine stopped and the emulator's state saved, is the outcome told: what run prints is
        // what storage keeps.
        return report();
    }

    /// <summary>Runs the batch; returns what prints the summary and gives the exit code, called once storage is stopped.</summary>
    private static async Task<Func<int>> RunAsync(IHost host, BatchRequest request, FileInfo file, ConsoleInterrupt interrupt, OwnBatchLogs ownLogs)
    {
        // Check the request before anything starts: bad input is a message, not a half-started batch.
        ValidationResult validation = host.Services.GetRequiredService<BatchValidator>().Validate(request);
        if (!validation.IsValid)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(file.Name)} is not a valid batch:[/]");
            foreach (ValidationProblem problem in validation.Problems)
            {
                AnsiConsole.MarkupLine($"  [yellow]{Markup.Escape(problem.Path.Length == 0 ? "(request)" : problem.Path)}[/]: {Markup.Escape(problem.Message)}");
            }

            return () => ExitCodes.InvalidInput;
        }

        try
        {
            // The host's own Ctrl+C handling stops a start in progress; either way nothing is submitted after a Ctrl+C.
            await AnsiConsole.Status().StartAsync("Starting the engine (and the Azurite storage emulator if needed)...", _ => host.StartAsync());
        }
        catch (OperationCanceledException) when (interrupt.Requested.IsCompleted)
        {
            // Told below; the engine stops as usual.
        }

        try
        {
            if (interrupt.Requested.IsCompleted)
            {
                AnsiConsole.MarkupLine("[yellow]Ctrl+C while the engine started: nothing was submitted.[/]");
                return () => ExitCodes.Interrupted;
            }

            BatchClient client = host.Services.GetRequiredService<BatchClient>();
            SubmitOutcome outcome = await client.SubmitAsync(request);
            string id = outcome.BatchId!;
            ownLogs.Show(id);
            AnsiConsole.MarkupLine(outcome.AlreadyExisted
                ? $"Batch [bold]{id}[/] already exists: showing it (a batch id is an idempotency key)."
                : $"Batch [bold]{id}[/]: {request.Jobs!.Count} jobs, at most {request.MaxParallel ?? host.Services.GetRequiredService<BatchLimits>().DefaultMaxParallel} at once.");

            var clock = Stopwatch.StartNew();
            bool cancelling = false;
            BatchView view = await BatchProgressView.FollowAsync(client, id, interrupt, async () =>
            {
                if (!cancelling)
                {
                    AnsiConsole.MarkupLine("[yellow]Ctrl+C: cancelling the batch (press again to quit at once)...[/]");
                    cancelling = true;
                }

                await client.CancelAsync(id, "Ctrl+C in durablejobs run");
            });
            clock.Stop();

            JobDigest digest = await DigestJobsAsync(client, id);
            return () =>
            {
                BatchReport.Print(view, digest, clock.Elapsed);

                // A run the user interrupted says so, whatever the batch's jobs did before the cancel reached them.
                return interrupt.Requested.IsCompleted ? ExitCodes.Interrupted : ExitCodes.For(view);
            };
        }
        finally
        {
            await AnsiConsole.Status().StartAsync("Stopping the engine...", _ => host.StopAsync());
        }
    }

    internal static void ConfigureQuietLogging(ILoggingBuilder logging, bool verbose, OwnBatchLogs ownLogs)
    {
        // The progress view is the interface; logs go to stderr and only when something is wrong, or with --verbose.
        logging.ClearProviders();
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = verbose ? "HH:mm:ss.fff " : null;
        });
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        if (!verbose)
        {
            // Durable Task logs expected events (an abandoned work item on shutdown) at error level; we report outcomes ourselves.
            logging.AddFilter("DurableTask", LogLevel.Critical);
            logging.AddFilter("Azure", LogLevel.Error);

            // A start stopped by Ctrl+C is "Hosting failed to start" to the host; run says what happened itself, and a
            // start that fails for real ends run with its own error.
            logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical);

            // The engine runs the hub's other batches too; the progress view is about this one.
            ownLogs.FilterConsole(logging);
        }
        else
        {
            // Durable Task's partition and lease events are what --verbose is for; its per-message traces are not.
            logging.AddFilter("Azure", LogLevel.Warning);
            logging.AddFilter("DurableJobs.Jobs", LogLevel.Warning);
        }
    }

    private static async Task<JobDigest> DigestJobsAsync(BatchClient client, string id)
    {
        var digest = new JobDigest();
        string? continuation = null;
        do
        {
            JobPage page = (await client.GetJobsAsync(id, top: 1_000, continuationToken: continuation))!;
            foreach (JobResult job in page.Items)
            {
                digest.Add(job);
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return digest;
    }
}
