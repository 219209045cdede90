using System.Globalization;
using Cronos;

namespace DurableJobs.Orchestration.Schedules;

/// <summary>
/// The occurrences of a <see cref="ScheduleDefinition"/>: pure functions of the definition and the times given (no
/// clock is read), so the orchestrator replays them identically and tests need no storage.
/// </summary>
/// <remarks>
/// Daylight-saving rules, those of Cronos: an occurrence whose wall-clock time does not exist (the hour skipped when
/// clocks go forward) runs once, at the transition (02:30 on the spring-forward night in Europe/Berlin runs at 03:00
/// CEST); an occurrence at a fixed wall-clock time that happens twice (the repeated hour when clocks go back) runs
/// once, at its first instance (02:30 CEST, not again at 02:30 CET). Expressions that step through the hours
/// (<c>0 * * * *</c>, <c>*/15 * * * *</c>) keep their real-time spacing and so run in both instances of the
/// repeated hour: an hourly schedule runs 25 times that day and 23 times on the spring-forward day.
/// </remarks>
internal sealed class ScheduleCalendar
{
    /// <summary>How late an occurrence may be handled and still run as on time, when the schedule does not say (<see cref="ScheduleDefinition.GraceSeconds"/>).</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(60);

    /// <summary>Longest schedule name: its occurrences' batch ids add up to 36 characters and must fit in an id.</summary>
    public const int MaxNameLength = 64;

    private readonly CronExpression cron;
    private readonly TimeZoneInfo zone;
    private readonly DateTime? startUtc;
    private readonly DateTime? endUtc;
    private readonly double jitterSeconds;
    private readonly TimeSpan grace;

    private ScheduleCalendar(CronExpression cron, TimeZoneInfo zone, DateTime? startUtc, DateTime? endUtc, double jitterSeconds, TimeSpan grace)
    {
        this.grace = grace;
        this.cron = cron;
        this.zone = zone;
        this.startUtc = startUtc;
        this.endUtc = endUtc;
        this.jitterSeconds = jitterSeconds;
    }

    /// <summary>The calendar of a definition that passed <see cref="ScheduleValidator"/>.</summary>
    /// <exception cref="FormatException">The cron does not parse.</exception>
    /// <exception cref="TimeZoneNotFoundException">The time zone is unknown on this machine.</exception>
    public static ScheduleCalendar Create(ScheduleDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!TryParseCron(definition.Cron, out CronExpression? cron, out string? error))
        {
            throw new FormatException(error);
        }

        return new ScheduleCalendar(cron!, FindZone(definition.TimeZone), definition.StartAt?.UtcDateTime, definition.EndAt?.UtcDateTime, definition.JitterSeconds ?? 0,
            definition.GraceSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultGrace);
    }

    /// <summary>Parses a 5-field (minutes first) or 6-field (seconds first) cron expression.</summary>
    public static bool TryParseCron(string? text, out CronExpression? cron, out string? error)
    {
        cron = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "Is required: a cron expression of 5 fields (minute hour day month weekday) or 6 (seconds first).";
            return false;
        }

        // Macros (@daily) are one field; otherwise the count of fields says whether seconds come first.
        int fields = text.Split(' ', '\t').Count(f => f.Length > 0);
        if (text.TrimStart()[0] != '@' && fields is not (5 or 6))
        {
            error = $"Has {fields} fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first).";
            return false;
        }

        try
        {
            cron = CronExpression.Parse(text.Trim(), fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            error = null;
            return true;
        }
        catch (CronFormatException ex)
        {
            error = $"Is not a valid cron expression: {ex.Message}";
            return false;
        }
    }

    /// <summary>The time zone of an IANA id (<c>Europe/Berlin</c>); <c>UTC</c> when none is given.</summary>
    /// <exception cref="TimeZoneNotFoundException">Unknown here.</exception>
    public static TimeZoneInfo FindZone(string? id) =>
        string.IsNullOrWhiteSpace(id) || id == "UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(id);

    /// <summary>The batch id of an occurrence: <c>{schedule}-{yyyyMMddTHHmmssZ}</c>, so a repeated tick finds the batch it started.</summary>
    public static string BatchIdOf(string name, DateTime occurrenceUtc) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}-{Utc(occurrenceUtc):yyyyMMdd'T'HHmmss'Z'}");

    /// <summary>The batch id of a trigger-now: <c>{schedule}-manual-{yyyyMMddTHHmmssfffZ}</c>.</summary>
    public static string ManualBatchIdOf(string name, DateTime atUtc) =>
        string.Create(CultureInfo.InvariantCulture, $"{name}-manual-{Utc(atUtc):yyyyMMdd'T'HHmmssfff'Z'}");

    /// <summary>The first occurrence after <paramref name="afterUtc"/> (exclusive) within the start and end dates; null when there is none.</summary>
    public DateTime? Next(DateTime afterUtc)
    {
        afterUtc = Utc(afterUtc);
        DateTime? next = startUtc is { } start && afterUtc < start
            ? cron.GetNextOccurrence(start, zone, inclusive: true)
            : cron.GetNextOccurrence(afterUtc, zone, inclusive: false);
        return next is { } n && (endUtc is null || n <= endUtc) ? n : null;
    }

    /// <summary>The latest occurrence in (<paramref name="afterUtc"/>, <paramref name="upToUtc"/>], or null.</summary>
    public DateTime? Latest(DateTime afterUtc, DateTime upToUtc)
    {
        DateTime to = Utc(endUtc is { } end && end < upToUtc ? end : upToUtc);
        DateTime? latest = cron.GetPreviousOccurrence(to, zone, inclusive: true);
        return latest is { } l && l > Utc(afterUtc) && (startUtc is null || l >= startUtc) ? l : null;
    }

    /// <summary>The occurrences in (<paramref name="afterUtc"/>, <paramref name="upToUtc"/>], oldest first, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<DateTime> Between(DateTime afterUtc, DateTime upToUtc, int max)
    {
        var found = new List<DateTime>();
        for (DateTime? next = Next(afterUtc); next is { } n && n <= Utc(upToUtc) && found.Count < max; next = Next(n))
        {
            found.Add(n);
        }

        return found;
    }

    /// <summary>
    /// What is due when the schedule wakes at <paramref name="nowUtc"/> having handled everything up to
    /// <paramref name="cursorUtc"/>: the occurrences in (cursor, now] within the grace period of now run; older
    /// ones were missed while nothing ran, and <paramref name="catchUp"/> runs none of them or the latest once (first,
    /// being the oldest to start). At most 100 on-time occurrences are started per wake, and missed ones are counted up to
    /// 1,000.
    /// </summary>
    public DueOccurrences Due(string name, DateTime cursorUtc, DateTime nowUtc, ScheduleCatchUp catchUp)
    {
        DateTime cursor = Utc(cursorUtc);
        DateTime now = Utc(nowUtc);
        var start = new List<DueOccurrence>();
        DateTime onTimeFrom = now - grace;
        DateTime? latestMissed = null;
        int missed = 0;
        if (cursor < onTimeFrom && Latest(cursor, onTimeFrom) is { } latest)
        {
            latestMissed = latest;
            missed = Between(cursor, onTimeFrom, 1_000).Count;
            if (catchUp == ScheduleCatchUp.Latest)
            {
                start.Add(new DueOccurrence(latest, "catch-up", latest));
            }
        }

        foreach (DateTime occurrence in Between(cursor > onTimeFrom ? cursor : onTimeFrom, now, 100))
        {
            start.Add(new DueOccurrence(occurrence, "cron", occurrence + JitterOf(name, occurrence)));
        }

        return new DueOccurrences(start, latestMissed, missed, catchUp == ScheduleCatchUp.Latest && latestMissed is not null ? missed - 1 : missed);
    }

    /// <summary>
    /// How long after <paramref name="occurrenceUtc"/> it starts: in [0, jitter), the same for the same schedule and
    /// occurrence on every machine and every replay (FNV-1a of both, not a random number).
    /// </summary>
    public TimeSpan JitterOf(string name, DateTime occurrenceUtc)
    {
        if (jitterSeconds <= 0)
        {
            return TimeSpan.Zero;
        }

        ulong hash = 14695981039346656037UL;
        foreach (char c in $"{name}|{Utc(occurrenceUtc).Ticks}")
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return TimeSpan.FromMilliseconds(hash % (ulong)Math.Max(1, jitterSeconds * 1000));
    }

    private static DateTime Utc(DateTime time) => time.Kind == DateTimeKind.Utc ? time : DateTime.SpecifyKind(time, DateTimeKind.Utc);
}

/// <summary>An occurrence to start now.</summary>
/// <param name="OccurrenceUtc">Its time.</param>
/// <param name="Trigger"><c>cron</c> or <c>catch-up</c>.</param>
/// <param name="DueUtc">When it was due: its time plus its jitter (a catch-up is due at its time).</param>
internal sealed record DueOccurrence(DateTime OccurrenceUtc, string Trigger, DateTime DueUtc);

/// <summary>What <see cref="ScheduleCalendar.Due"/> found.</summary>
/// <param name="Start">The occurrences to start, oldest first.</param>
/// <param name="LatestMissed">The latest occurrence missed while nothing ran, if any.</param>
/// <param name="Missed">How many were missed (counted up to 1,000).</param>
/// <param name="NotRun">How many of those missed are not run (all of them, or all but the latest).</param>
internal sealed record DueOccurrences(IReadOnlyList<DueOccurrence> Start, DateTime? LatestMissed, int Missed, int NotRun);
