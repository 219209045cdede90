using DurableJobs.Core.Validation;

namespace DurableJobs.Orchestration.Schedules;

/// <summary>
/// Checks a schedule before anything is stored: its name, cron, time zone, template (as a batch, fields under
/// <c>template.</c>), dates and jitter, and that it fires at all. Every problem at once, keyed by field.
/// </summary>
internal sealed class ScheduleValidator
{
    /// <summary>Largest accepted <see cref="ScheduleDefinition.JitterSeconds"/>.</summary>
    public const double MaxJitterSeconds = 3_600;

    /// <summary>Largest accepted <see cref="ScheduleDefinition.GraceSeconds"/> (a day).</summary>
    public const double MaxGraceSeconds = 86_400;

    private readonly BatchValidator batches;
    private readonly TimeProvider time;

    /// <summary>Creates the validator; templates are checked by <paramref name="batches"/>.</summary>
    public ScheduleValidator(BatchValidator batches, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        this.batches = batches;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Validates the schedule <paramref name="name"/> defined by <paramref name="definition"/>.</summary>
    public ValidationResult Validate(string? name, ScheduleDefinition? definition)
    {
        var problems = new List<ValidationProblem>();
        if (string.IsNullOrEmpty(name) || !BatchValidator.IsValidId(name))
        {
            problems.Add(new("name", "May contain only ASCII letters, digits, '-', '_' and '.', and must not end with '.'."));
        }
        else if (name.Length > ScheduleCalendar.MaxNameLength)
        {
            problems.Add(new("name", $"Must be at most {ScheduleCalendar.MaxNameLength} characters long (got {name.Length}): each occurrence's batch id is the name and its time."));
        }

        if (definition is null)
        {
            problems.Add(new(string.Empty, "The request body must be a JSON object describing a schedule."));
            return new ValidationResult(problems);
        }

        bool cronValid = ScheduleCalendar.TryParseCron(definition.Cron, out _, out string? cronError);
        if (!cronValid)
        {
            problems.Add(new("cron", cronError!));
        }

        bool zoneValid = true;
        try
        {
            _ = ScheduleCalendar.FindZone(definition.TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            zoneValid = false;
            problems.Add(new("timeZone", $"Unknown time zone '{definition.TimeZone}': give an IANA id such as 'Europe/Berlin' or 'UTC'."));
        }

        ValidateTemplate(definition, problems);
        if (definition.JitterSeconds is { } jitter && (double.IsNaN(jitter) || jitter < 0 || jitter > MaxJitterSeconds))
        {
            problems.Add(new("jitterSeconds", $"Must be between 0 and {MaxJitterSeconds:0} (got {jitter})."));
        }

        if (definition.GraceSeconds is { } grace && (double.IsNaN(grace) || grace < 1 || grace > MaxGraceSeconds))
        {
            problems.Add(new("graceSeconds", $"Must be between 1 and {MaxGraceSeconds:0} (got {grace})."));
        }

        if (definition.StartAt is { } start && definition.EndAt is { } end && end <= start)
        {
            problems.Add(new("endAt", $"Must be after startAt (got {end:O}, start {start:O})."));
        }
        else if (cronValid && zoneValid)
        {
            // A schedule that can never fire would sit there forever doing nothing: refuse it.
            DateTime now = time.GetUtcNow().UtcDateTime;
            if (ScheduleCalendar.Create(definition).Next(now) is null)
            {
                problems.Add(definition.EndAt is { } endAt && ScheduleCalendar.Create(definition with { EndAt = null }).Next(now) is not null
                    ? new("endAt", $"No occurrence of '{definition.Cron}' falls between now and {endAt:O}: the schedule would never fire.")
                    : new("cron", $"'{definition.Cron}' never fires (after {now:O}): the schedule would never run."));
            }
        }

        return new ValidationResult(problems);
    }

    private void ValidateTemplate(ScheduleDefinition definition, List<ValidationProblem> problems)
    {
        if (definition.Template is not { } template)
        {
            problems.Add(new("template", "Is required: the batch each occurrence starts (the body of POST /api/batches)."));
            return;
        }

        if (template.BatchId is not null)
        {
            problems.Add(new("template.batchId", "Must be absent: each occurrence's batch id is '{schedule}-{occurrence time}'."));
        }

        if (template.StartAt is not null || template.StartAfterSeconds is not null)
        {
            problems.Add(new(template.StartAt is not null ? "template.startAt" : "template.startAfterSeconds", "Must be absent: an occurrence starts its batch at once."));
        }

        if (template.Next?.Batch?.BatchId is not null)
        {
            // One fixed id would make every occurrence after the first find its next batch already there.
            problems.Add(new("template.next.batch.batchId", "Must be absent: each occurrence's next batch is '{its batch id}.next'."));
        }

        foreach (ValidationProblem problem in batches.Validate(template).Problems)
        {
            problems.Add(new(problem.Path.Length == 0 ? "template" : $"template.{problem.Path}", problem.Message));
        }
    }
}
