using DurableJobs.Client;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary>Polls a batch and draws its progress until it finishes.</summary>
internal static class BatchProgressView
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static async Task<BatchView> FollowAsync(BatchClient client, string id, ConsoleInterrupt interrupt, Func<Task> onInterrupt)
    {
        bool interrupted = false;
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Redirected output (CI, a log file): a plain line whenever the counts change.
            string last = string.Empty;
            while (true)
            {
                BatchView view = await PollAsync(client, id);
                string line = Counts(view, markup: false);

                // A pending batch has published no counts yet: "0 of 0" would only confuse.
                if (line != last && view.Status != Orchestration.Model.BatchStatus.Pending)
                {
                    Console.WriteLine($"{DateTime.Now:HH:mm:ss} {view.Status,-9} {line}");
                    last = line;
                }

                if (view.IsFinished)
                {
                    return view;
                }

                interrupted = await HandleInterruptAsync(interrupt, interrupted, onInterrupt);
                await Task.Delay(PollInterval);
            }
        }

        BatchView final = null!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                ProgressTask bar = progress.AddTask("starting", maxValue: 1);
                while (true)
                {
                    BatchView view = await PollAsync(client, id);
                    bar.MaxValue = Math.Max(1, view.Total);
                    bar.Value = view.Succeeded + view.Failed + view.TimedOut + view.Cancelled;
                    bar.Description = view.Status == Orchestration.Model.BatchStatus.Pending ? "waiting for a worker" : Counts(view, markup: true);
                    if (view.IsFinished)
                    {
                        final = view;
                        bar.StopTask();
                        return;
                    }

                    interrupted = await HandleInterruptAsync(interrupt, interrupted, onInterrupt);
                    await Task.Delay(PollInterval);
                }
            });
        return final;
    }

    internal static string Counts(BatchView v, bool markup) => markup
        ? $"[green]{v.Succeeded} ok[/] [red]{v.Failed} failed[/] [yellow]{v.TimedOut} timed out[/] [grey]{v.Cancelled} cancelled[/] [blue]{v.Running} running[/] {v.Pending} pending"
        : $"{v.Succeeded} ok, {v.Failed} failed, {v.TimedOut} timed out, {v.Cancelled} cancelled, {v.Running} running, {v.Pending} pending (of {v.Total})";

    private static async Task<BatchView> PollAsync(BatchClient client, string id) =>
        await client.GetAsync(id) ?? throw new CliException($"Batch {id} disappeared from the task hub.");

    private static async Task<bool> HandleInterruptAsync(ConsoleInterrupt interrupt, bool alreadyHandled, Func<Task> onInterrupt)
    {
        if (!alreadyHandled && interrupt.Requested.IsCompleted)
        {
            await onInterrupt();
            return true;
        }

        return alreadyHandled;
    }
}
