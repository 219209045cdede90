using System.Globalization;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary>The summary printed when a batch ends: counts, throughput, the cap as observed, slowest and failed jobs.</summary>
internal static class BatchReport
{
    public static void Print(BatchView view, JobDigest jobs, TimeSpan elapsed)
    {
        string color = view.Status switch
        {
            Orchestration.Model.BatchStatus.Completed when view.Succeeded == view.Total => "green",
            Orchestration.Model.BatchStatus.Completed => "yellow",
            _ => "red",
        };
        AnsiConsole.MarkupLine($"Batch [bold]{view.Id}[/] ended [{color}]{view.Status}[/] in {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s.");

        var summary = new Table().Border(TableBorder.Rounded).AddColumn("Status").AddColumn(new TableColumn("Jobs").RightAligned());
        summary.AddRow("[green]Succeeded[/]", view.Succeeded.ToString(CultureInfo.InvariantCulture));
        summary.AddRow("[red]Failed[/]", view.Failed.ToString(CultureInfo.InvariantCulture));
        summary.AddRow("[yellow]TimedOut[/]", view.TimedOut.ToString(CultureInfo.InvariantCulture));
        summary.AddRow("[grey]Cancelled[/]", view.Cancelled.ToString(CultureInfo.InvariantCulture));
        summary.AddRow("[bold]Total[/]", view.Total.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(summary);

        int peak = jobs.PeakInFlight;
        double rate = elapsed.TotalSeconds > 0 ? view.Succeeded / elapsed.TotalSeconds : 0;
        AnsiConsole.MarkupLine($"Peak jobs in flight: [bold]{peak}[/] (cap {view.MaxParallel}). Throughput: {rate.ToString("0.0", CultureInfo.InvariantCulture)} jobs/s.");

        IReadOnlyList<JobResult> slowest = jobs.SlowestJobs;
        if (slowest.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("Slowest jobs")
                .AddColumn("Job").AddColumn("Type").AddColumn("Status").AddColumn(new TableColumn("Seconds").RightAligned()).AddColumn("Attempts").AddColumn("Worker");
            foreach (JobResult job in slowest)
            {
                table.AddRow(Markup.Escape(job.Id), Markup.Escape(job.Type), job.Status.ToString(),
                    JobDigest.Duration(job).TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture), job.Attempts.ToString(CultureInfo.InvariantCulture), Markup.Escape(job.Worker ?? "-"));
            }

            AnsiConsole.Write(table);
        }

        if (jobs.UnsuccessfulCount > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"Jobs that did not succeed ({jobs.UnsuccessfulCount}, first {jobs.FirstUnsuccessful.Count})")
                .AddColumn("Job").AddColumn("Status").AddColumn("Attempts").AddColumn("Error");
            foreach (JobResult job in jobs.FirstUnsuccessful)
            {
                table.AddRow(Markup.Escape(job.Id), job.Status.ToString(), job.Attempts.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(job.Error is null ? "-" : $"{job.Error.Type}: {job.Error.Message}"));
            }

            AnsiConsole.Write(table);
        }
    }
}
