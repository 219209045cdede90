using System.CommandLine;
using DurableJobs.Engine.Hosting;
using DurableJobs.Host.Web;
using DurableJobs.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary>
/// <c>durablejobs serve</c>: the long-running host. By default the engine, the HTTP API, the queue listener and
/// the dashboard on http://127.0.0.1:7071 (Azure Functions' local port). <c>--worker-only</c> runs jobs and serves
/// nothing; <c>--api-only</c> serves the API and runs no jobs. Processes with the same task hub share the work.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = $"Where to listen (default {EmbeddedWebHost.DefaultUrl}). Beyond loopback an API key (DurableJobs__ApiKey) is required." };
        var workerOnly = new Option<bool>("--worker-only") { Description = "Run jobs only: no HTTP API, no queue listener." };
        var apiOnly = new Option<bool>("--api-only") { Description = "Serve the API and the queue listener only: run no jobs." };
        var command = new Command("serve", "Run the engine, HTTP API, queue listener and dashboard until Ctrl+C or SIGTERM.") { urls, workerOnly, apiOnly };
        command.SetAction((parse, cancellationToken) => ServeAsync(parse.GetValue(urls), parse.GetValue(workerOnly), parse.GetValue(apiOnly)));
        return command;
    }

    private static async Task<int> ServeAsync(string? urls, bool workerOnly, bool apiOnly)
    {
        if (workerOnly && apiOnly)
        {
            throw new CliException("--worker-only and --api-only exclude each other.");
        }

        if (workerOnly)
        {
            // No listener at all: a worker needs only storage.
            HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
            HostConfiguration.AddSources(builder.Configuration, new Dictionary<string, string?> { ["DurableJobs:RunWorker"] = "true" });
            builder.Services.AddDurableJobs().AddBuiltInHandlers().AddWorker();
            builder.Services.AddDurableJobsTelemetry(builder.Configuration);
            IHost worker = builder.Build();
            try
            {
                AnsiConsole.MarkupLine("[bold]durablejobs[/] worker: running jobs of the task hub; Ctrl+C stops (running jobs go back to the queue).");
                await worker.RunAsync();
            }
            finally
            {
                // Asynchronously: the engine stops the emulator it started gracefully, which a synchronous dispose cannot.
                await HostDisposal.DisposeAsync(worker);
            }

            return ExitCodes.Success;
        }

        var settings = new Dictionary<string, string?>();
        if (urls is not null)
        {
            settings["urls"] = urls;
        }

        if (apiOnly)
        {
            settings["DurableJobs:RunWorker"] = "false";
        }

        WebApplication app;
        try
        {
            app = EmbeddedWebHost.Build([], settings);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ex.Message);
        }

        await using (app)
        {
            try
            {
                await app.StartAsync();
            }
            catch (InvalidOperationException ex) when (ex.Message.Contains(EmbeddedWebHost.ApiKeySetting, StringComparison.Ordinal))
            {
                throw new CliException(ex.Message);
            }

            AnsiConsole.MarkupLine($"[bold]durablejobs[/] {(apiOnly ? "API" : "host")} listening on {Markup.Escape(string.Join(", ", app.Urls))} (dashboard at /, API under /api). Ctrl+C stops.");
            await app.WaitForShutdownAsync();
        }

        return ExitCodes.Success;
    }
}
