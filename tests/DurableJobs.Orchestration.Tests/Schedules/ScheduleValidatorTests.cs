using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Schedules;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Orchestration.Tests.Schedules;

public sealed class ScheduleValidatorTests
{
    private static readonly FakeTimeProvider Clock = new(DateTimeOffset.Parse("2026-12-01T05:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ScheduleValidator validator = new(new BatchValidator(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns(), time: Clock), Clock);

    private static readonly BatchRequest Echo = new() { Jobs = [new JobSpec { Type = "echo" }] };

    private static ScheduleDefinition Valid => new() { Cron = "0 2 * * *", TimeZone = "Europe/Berlin", Template = Echo };

    [Fact]
    public void ANightlySchedule_IsValid()
    {
        Assert.True(validator.Validate("nightly", Valid).IsValid, validator.Validate("nightly", Valid).ToString());
        Assert.True(validator.Validate("every-second", new ScheduleDefinition { Cron = "* * * * * *", Template = Echo }).IsValid);
    }

    public static TheoryData<string, ScheduleDefinition, string, string> Invalid => new()
    {
        { "nightly", Valid with { Cron = "0 2 * *" }, "cron", "Has 4 fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)." },
        { "nightly", Valid with { Cron = "0 25 * * *" }, "cron", "Is not a valid cron expression" },
        { "nightly", Valid with { Cron = null }, "cron", "Is required" },
        { "nightly", Valid with { Cron = "0 0 30 2 *" }, "cron", "never fires" },
        { "nightly", Valid with { TimeZone = "Mars/Olympus_Mons" }, "timeZone", "Unknown time zone 'Mars/Olympus_Mons'" },
        { "nightly", Valid with { Template = null }, "template", "Is required" },
        { "nightly", Valid with { Template = new BatchRequest { Jobs = [] } }, "template.jobs", "A batch needs at least one job." },
        { "nightly", Valid with { Template = Echo with { BatchId = "x" } }, "template.batchId", "Must be absent" },
        { "nightly", Valid with { Template = Echo with { StartAfterSeconds = 5 } }, "template.startAfterSeconds", "Must be absent" },
        { "nightly", Valid with { Template = Echo with { Next = new NextBatch { Batch = Echo with { BatchId = "fixed" } } } }, "template.next.batch.batchId", "Must be absent" },
        { "nightly", Valid with { Template = Echo with { OnComplete = new CompletionHook { Queue = "Bad_Queue" } } }, "template.onComplete.queue", "Must be a storage queue name" },
        { "nightly", Valid with { Template = new BatchRequest { Jobs = [new JobSpec { Type = "teleport" }] } }, "template.jobs[0].type", "Unknown job type 'teleport'." },
        { "nightly", Valid with { JitterSeconds = -1 }, "jitterSeconds", "Must be between 0 and 3600" },
        { "nightly", Valid with { GraceSeconds = 0 }, "graceSeconds", "Must be between 1 and 86400" },
        { "nightly", Valid with { StartAt = DateTimeOffset.Parse("2027-01-02T00:00:00Z"), EndAt = DateTimeOffset.Parse("2027-01-01T00:00:00Z") }, "endAt", "Must be after startAt" },
        { "nightly", Valid with { EndAt = DateTimeOffset.Parse("2026-11-30T00:00:00Z") }, "endAt", "would never fire" },
        { "nightly", Valid with { Cron = "0 2 1 1 *", EndAt = DateTimeOffset.Parse("2026-12-31T00:00:00Z") }, "endAt", "would never fire" },
        { "a/b", Valid, "name", "May contain only" },
        { new string('n', 65), Valid, "name", "Must be at most 64 characters" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void BadInput_IsRefused_NamingTheField(string name, ScheduleDefinition definition, string field, string message)
    {
        ValidationResult result = validator.Validate(name, definition);

        ValidationProblem problem = Assert.Single(result.Problems);
        Assert.Equal(field, problem.Path);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
    }
}
