using DurableJobs.Orchestration.Orchestrators;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Schedules;

/// <summary>
/// The eternal orchestration of one schedule (instance <c>schedule:{name}</c>). Each execution waits on a durable
/// timer for the next occurrence (plus its jitter), raced against <see cref="ScheduleNames.CommandEvent"/>; then it
/// handles every occurrence due by now, applies the command if one came, and continues as new with its state, so the
/// history stays a few events long. Nothing lives in a process: a restart of every worker, or a move to another
/// worker, resumes from storage, and each occurrence's batch id is <c>{schedule}-{time}</c>, so a tick handled twice
/// finds the batch it started and starts no second one.
/// </summary>
/// <remarks>
/// Occurrences more than the schedule's grace period (<see cref="ScheduleDefinition.GraceSeconds"/>) old when handled were missed while nothing ran:
/// the catch-up policy runs none of them or the latest once. Replay-safe: time comes from the context only.
/// </remarks>
internal sealed class ScheduleOrchestrator : TaskOrchestrator<ScheduleState, ScheduleState>
{
    /// <summary>How often a queued occurrence looks whether the running batch has ended.</summary>
    internal static readonly TimeSpan QueuedCheckInterval = TimeSpan.FromSeconds(2);

    // Starting a batch is a few storage calls: retried through an outage, like the batch orchestrator's records.
    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 10, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    /// <inheritdoc />
    public override async Task<ScheduleState> RunAsync(TaskOrchestrationContext context, ScheduleState input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        ILogger logger = context.CreateReplaySafeLogger<ScheduleOrchestrator>();
        var state = new Episode(context, logger, input with { CursorUtc = input.CursorUtc ?? context.CurrentUtcDateTime });

        (DateTime? next, DateTime? wake) = state.NextWake();
        context.SetCustomStatus(state.ToProgress(next, wake));

        using var timerCts = new CancellationTokenSource();
        using var commandCts = new CancellationTokenSource();
        Task<ScheduleCommand> command = context.WaitForExternalEvent<ScheduleCommand>(ScheduleNames.CommandEvent, commandCts.Token);
        Task? timer = wake is { } at ? BatchOrchestrator.WaitForDeadlineAsync(context, at, timerCts.Token) : null;
        Task winner = timer is null ? command : await Task.WhenAny(timer, command);
        if (timer is null)
        {
            // Paused or past its end: only a command can wake it.
            await command;
        }

        if (winner == command)
        {
            timerCts.Cancel();
        }
        else
        {
            commandCts.Cancel();
        }

        // Whatever woke it, everything due by now is handled first, under the definition it was due under.
        await state.HandleDueAsync();
        if (winner == command)
        {
            await state.ApplyAsync(await command);
        }

        if (state.Current.Deleted)
        {
            logger.LogInformation("Schedule {Schedule} deleted", input.Name);
            context.SetCustomStatus(state.ToProgress(null, null));
            return state.Current;
        }

        context.ContinueAsNew(state.Current, preserveUnprocessedEvents: true);
        return state.Current;
    }

    /// <summary>One execution's work on the state.</summary>
    private sealed class Episode(TaskOrchestrationContext context, ILogger logger, ScheduleState initial)
    {
        private bool refreshed;

        public ScheduleState Current { get; private set; } = initial;

        private DateTime Now => context.CurrentUtcDateTime;

        private ScheduleCalendar? Calendar
        {
            get
            {
                try
                {
                    return ScheduleCalendar.Create(Current.Definition);
                }
                catch (Exception ex) when (ex is FormatException or TimeZoneNotFoundException or InvalidTimeZoneException)
                {
                    // Validated when stored, so only a host without that zone gets here: wait for an update, loudly.
                    Current = Current with { Problem = ex.Message };
                    return null;
                }
            }
        }

        public (DateTime? Next, DateTime? Wake) NextWake()
        {
            DateTime? next = Current.Paused || Calendar is not { } calendar ? null : calendar.Next(Current.CursorUtc!.Value);
            DateTime? wake = next is { } n ? n + Calendar!.JitterOf(Current.Name, n) : null;
            if (Current.Queued is not null && (wake is null || wake > Now + QueuedCheckInterval))
            {
                wake = Now + QueuedCheckInterval;
            }

            return (next, wake);
        }

        public ScheduleProgress ToProgress(DateTime? next, DateTime? wake) => new()
        {
            Paused = Current.Paused,
            NextOccurrenceUtc = next,
            WakeUtc = wake,
            Revision = Current.Revision,
            Recent = Current.Recent,
            Queued = Current.Queued,
            Problem = Current.Problem,
            Deleted = Current.Deleted,
        };

        public async Task HandleDueAsync()
        {
            DateTime now = Now;
            if (Current.Queued is { } queued && await ActiveCountAsync() == 0)
            {
                Current = Current with { Queued = null };
                await StartAsync(queued.OccurrenceUtc, queued.BatchId!, "queued", queued.OccurrenceUtc);
            }

            if (Current.Paused || Calendar is not { } calendar)
            {
                return;
            }

            DueOccurrences due = calendar.Due(Current.Name, Current.CursorUtc!.Value, now, Current.Definition.CatchUp);
            if (due.LatestMissed is { } latestMissed)
            {
                logger.LogWarning("Schedule {Schedule}: {Missed} occurrences missed while nothing ran (latest {Latest:o}); catch-up {CatchUp}", Current.Name, due.Missed, latestMissed, Current.Definition.CatchUp);
                if (due.NotRun > 0)
                {
                    Record(new ScheduleRun
                    {
                        OccurrenceUtc = latestMissed, Disposition = OccurrenceDisposition.Missed, Trigger = "cron", HandledUtc = now,
                        Detail = (due.Missed >= 1_000 ? "1000 or more" : due.NotRun.ToString(System.Globalization.CultureInfo.InvariantCulture))
                            + (Current.Definition.CatchUp == ScheduleCatchUp.Latest
                                ? " earlier occurrence(s) missed while nothing ran were not run (catch-up Latest runs this one only)."
                                : " occurrence(s) up to this one were missed while nothing ran and not run (catch-up Skip)."),
                    });
                }
            }

            foreach (DueOccurrence occurrence in due.Start)
            {
                await StartAsync(occurrence.OccurrenceUtc, ScheduleCalendar.BatchIdOf(Current.Name, occurrence.OccurrenceUtc), occurrence.Trigger, occurrence.DueUtc);
            }

            Current = Current with { CursorUtc = now };
        }

        public async Task ApplyAsync(ScheduleCommand command)
        {
            DateTime now = Now;
            logger.LogInformation("Schedule {Schedule}: {Command}", Current.Name, command.Kind);
            switch (command.Kind)
            {
                case ScheduleCommandKind.Update when command.Definition is { } definition:
                    // From the next occurrence of the new definition: nothing before now is run under it.
                    Current = Current with { Definition = definition, CursorUtc = now, Revision = Current.Revision + 1, Problem = null };
                    break;
                case ScheduleCommandKind.Pause:
                    Current = Current with { Paused = true };
                    break;
                case ScheduleCommandKind.Resume when Current.Paused:
                    // Occurrences that fell while paused are not caught up.
                    Current = Current with { Paused = false, CursorUtc = now };
                    break;
                case ScheduleCommandKind.Trigger:
                    await StartAsync(now, ScheduleCalendar.ManualBatchIdOf(Current.Name, now), "manual", now);
                    break;
                case ScheduleCommandKind.Delete:
                    Current = Current with { Deleted = true };
                    break;
            }
        }

        private async Task StartAsync(DateTime occurrence, string batchId, string trigger, DateTime due)
        {
            DateTime now = Now;
            ScheduleOverlap overlap = Current.Definition.Overlap;
            if (overlap != ScheduleOverlap.Allow && await ActiveCountAsync() > 0)
            {
                if (overlap == ScheduleOverlap.QueueOne && Current.Queued is null)
                {
                    var queued = new ScheduleRun { OccurrenceUtc = occurrence, BatchId = batchId, Disposition = OccurrenceDisposition.Queued, Trigger = trigger, HandledUtc = now };
                    Current = Current with { Queued = queued };
                    Record(queued);
                }
                else
                {
                    Record(new ScheduleRun
                    {
                        OccurrenceUtc = occurrence, Disposition = OccurrenceDisposition.Skipped, Trigger = trigger, HandledUtc = now,
                        Detail = overlap == ScheduleOverlap.Skip ? $"{Current.Active[0]} was still running." : "An occurrence was already queued.",
                    });
                }

                return;
            }

            ScheduledBatchStarted started = await context.CallActivityAsync<ScheduledBatchStarted>(
                ScheduleNames.StartBatchActivity,
                new ScheduledBatchStart { Schedule = Current.Name, OccurrenceUtc = occurrence, DueUtc = due, BatchId = batchId, Trigger = trigger, Template = Current.Definition.Template! },
                ActivityRetry);
            if (!started.Started)
            {
                logger.LogError("Schedule {Schedule}: the occurrence {Occurrence:o} was refused: {Problem}", Current.Name, occurrence, started.Problem);
                Record(new ScheduleRun { OccurrenceUtc = occurrence, Disposition = OccurrenceDisposition.Invalid, Trigger = trigger, HandledUtc = now, Detail = started.Problem });
                return;
            }

            Record(new ScheduleRun { OccurrenceUtc = occurrence, BatchId = batchId, Disposition = OccurrenceDisposition.Started, Trigger = trigger, HandledUtc = now });
            if (overlap != ScheduleOverlap.Allow)
            {
                Current = Current with { Active = [.. Current.Active, batchId] };
            }
        }

        /// <summary>The schedule's batches still running, looked up at most once per execution and only when a decision needs it.</summary>
        private async Task<int> ActiveCountAsync()
        {
            if (!refreshed && Current.Active.Count > 0)
            {
                refreshed = true;
                List<string> running = await context.CallActivityAsync<List<string>>(ScheduleNames.RunningBatchesActivity, Current.Active, ActivityRetry);
                Current = Current with { Active = running };
            }

            return Current.Active.Count;
        }

        private void Record(ScheduleRun run)
        {
            // A queued occurrence that starts replaces its Queued entry.
            List<ScheduleRun> recent = Current.Recent.Where(r => !(r.Disposition == OccurrenceDisposition.Queued && r.BatchId is not null && r.BatchId == run.BatchId)).ToList();
            recent.Add(run);
            if (recent.Count > ScheduleState.MaxRecent)
            {
                recent.RemoveRange(0, recent.Count - ScheduleState.MaxRecent);
            }

            Current = Current with { Recent = recent };
        }
    }
}
