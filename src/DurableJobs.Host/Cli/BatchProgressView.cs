using DurableJobs.Client;
using Spectre.Console;

namespace DurableJobs.Host.Cli;

/// <summary>
/// Polls a batch and draws its progress until it finishes. Storage that stops answering does not end the view: the
/// engine rides out an outage, so the view says so and keeps asking, backing off to <see cref="MaxRetryDelay"/>.
/// </summary>
internal static class BatchProgressView
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    public static async Task<BatchView> FollowAsync(BatchClient client, string id, ConsoleInterrupt interrupt, Func<Task> onInterrupt)
    {
        bool interrupted = false;
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Redirected output (CI, a log file): a plain line whenever the counts change.
            string last = string.Empty;
            var poll = new Poll(client, id);
            while (true)
            {
                BatchView? view = await poll.NextAsync();
                string line = view is null ? poll.Trouble! : Counts(view, markup: false);

                // A pending batch has published no counts yet: "0 of 0" would only confuse.
                if (line != last && view?.Status != Orchestration.Model.BatchStatus.Pending)
                {
                    Console.WriteLine($"{DateTime.Now:HH:mm:ss} {(view is null ? string.Empty : $"{view.Status,-9} ")}{line}");
                    last = line;
                }

                if (view?.IsFinished == true)
                {
                    return view;
                }

                interrupted = await HandleInterruptAsync(interrupt, interrupted, onInterrupt);
                await Task.Delay(poll.Delay);
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
                var poll = new Poll(client, id);
                while (true)
                {
                    if (await poll.NextAsync() is not { } view)
                    {
                        bar.Description = $"[yellow]{Markup.Escape(poll.Trouble!)}[/]";
                    }
                    else
                    {
                        bar.MaxValue = Math.Max(1, view.Total);
                        bar.Value = view.Succeeded + view.Failed + view.TimedOut + view.Cancelled;
                        bar.Description = view.Status == Orchestration.Model.BatchStatus.Pending ? "waiting for a worker" : Counts(view, markup: true);
                        if (view.IsFinished)
                        {
                            final = view;
                            bar.StopTask();
                            return;
                        }
                    }

                    interrupted = await HandleInterruptAsync(interrupt, interrupted, onInterrupt);
                    await Task.Delay(poll.Delay);
                }
            });
        return final;
    }

    internal static string Counts(BatchView v, bool markup) => markup
        ? $"[green]{v.Succeeded} ok[/] [red]{v.Failed} failed[/] [yellow]{v.TimedOut} timed out[/] [grey]{v.Cancelled} cancelled[/] [blue]{v.Running} running[/] {v.Pending} pending"
        : $"{v.Succeeded} ok, {v.Failed} failed, {v.TimedOut} timed out, {v.Cancelled} cancelled, {v.Running} running, {v.Pending} pending (of {v.Total})";

    private static async Task<bool> HandleInterruptAsync(ConsoleInterrupt interrupt, bool alreadyHandled, Func<Task> onInterrupt)
    {
        if (!alreadyHandled && interrupt.Requested.IsCompleted)
        {
            try
            {
                await onInterrupt();
                return true;
            }
            catch (Exception ex) when (ex is not CliException)
            {
                // Storage down: the cancel is asked for again on the next round, and a second Ctrl+C still quits.
                AnsiConsole.MarkupLine($"[yellow]Could not ask for the cancel yet ({Markup.Escape(ex.GetType().Name)}); trying again.[/]");
                return false;
            }
        }

        return alreadyHandled;
    }

    /// <summary>One poll after another, with the delay before the next: the interval while storage answers, backing off while it does not.</summary>
    private sealed class Poll(BatchClient client, string id)
    {
        private int failures;

        public TimeSpan Delay { get; private set; } = PollInterval;

        /// <summary>Why the last poll got no view (shown in its place).</summary>
        public string? Trouble { get; private set; }

        /// <summary>The batch's view, or null when storage did not answer.</summary>
        public async Task<BatchView?> NextAsync()
        {
            BatchView? view;
            try
            {
                view = await client.GetAsync(id);
            }
            catch (Exception ex)
            {
                failures++;
                Delay = TimeSpan.FromTicks(Math.Min(PollInterval.Ticks << Math.Min(failures, 5), MaxRetryDelay.Ticks));
                Trouble = $"storage not answering ({ex.GetType().Name}); still trying";
                return null;
            }

            failures = 0;
            Delay = PollInterval;
            Trouble = null;
            return view ?? throw new CliException($"Batch {id} disappeared from the task hub.");
        }
    }
}
