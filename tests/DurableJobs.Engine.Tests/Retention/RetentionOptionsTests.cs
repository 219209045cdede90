using DurableJobs.Client;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Engine.Tests.Retention;

/// <summary>Which finished batches a retention period covers, and when; no storage.</summary>
public sealed class RetentionOptionsTests
{
    private static readonly DateTimeOffset FinishedAt = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetentionOptions Days1And7 = new() { CompletedAfter = TimeSpan.FromDays(1), FailedAfter = TimeSpan.FromDays(7) };

    [Theory]
    [InlineData(BatchStatus.Completed, 10, 10, true)]
    [InlineData(BatchStatus.Completed, 10, 9, false)]
    [InlineData(BatchStatus.Completed, 0, 0, true)]
    [InlineData(BatchStatus.TimedOut, 10, 10, false)]
    [InlineData(BatchStatus.Cancelled, 10, 0, false)]
    [InlineData(BatchStatus.Aborted, 10, 2, false)]
    [InlineData(BatchStatus.Failed, 10, 10, false)]
    public void Succeeded_is_Completed_with_every_job_Succeeded_only(BatchStatus status, int total, int succeeded, bool expected) =>
        Assert.Equal(expected, RetentionOptions.Succeeded(Batch(status, total, succeeded)));

    [Fact]
    public void A_succeeded_batch_expires_after_CompletedAfter_and_a_failed_one_after_FailedAfter()
    {
        BatchView ok = Batch(BatchStatus.Completed, 5, 5);
        BatchView bad = Batch(BatchStatus.Completed, 5, 4);

        Assert.False(Days1And7.IsExpired(ok, FinishedAt.AddHours(23)));
        Assert.True(Days1And7.IsExpired(ok, FinishedAt.AddDays(1)));
        Assert.False(Days1And7.IsExpired(bad, FinishedAt.AddDays(6)));
        Assert.True(Days1And7.IsExpired(bad, FinishedAt.AddDays(7)));
    }

    [Theory]
    [InlineData(BatchStatus.Running)]
    [InlineData(BatchStatus.Paused)]
    [InlineData(BatchStatus.Pending)]
    [InlineData(BatchStatus.Scheduled)]
    public void A_batch_that_has_not_finished_never_expires(BatchStatus status) =>
        Assert.False(new RetentionOptions { CompletedAfter = TimeSpan.Zero, FailedAfter = TimeSpan.Zero }.IsExpired(Batch(status, 5, 0) with { CompletedAt = null }, FinishedAt.AddYears(1)));

    [Fact]
    public void An_unset_period_keeps_those_batches_and_retention_is_off_by_default()
    {
        var completedOnly = new RetentionOptions { CompletedAfter = TimeSpan.Zero };

        Assert.False(new RetentionOptions().Enabled);
        Assert.True(completedOnly.IsExpired(Batch(BatchStatus.Completed, 1, 1), FinishedAt));
        Assert.False(completedOnly.IsExpired(Batch(BatchStatus.Cancelled, 1, 0), FinishedAt.AddYears(10)));
    }

    [Fact]
    public void Negative_periods_are_problems_naming_the_setting()
    {
        var options = new RetentionOptions { CompletedAfter = TimeSpan.FromSeconds(-1), FailedAfter = TimeSpan.FromDays(-2), SweepInterval = TimeSpan.Zero };

        Assert.Equal(
            ["DurableJobs:Retention:CompletedAfter", "DurableJobs:Retention:FailedAfter", "DurableJobs:Retention:SweepInterval"],
            options.Validate().Select(p => p[..p.IndexOf(' ', StringComparison.Ordinal)]));
        Assert.Empty(Days1And7.Validate());
    }

    private static BatchView Batch(BatchStatus status, int total, int succeeded) => new()
    {
        Id = "b",
        Status = status,
        Total = total,
        Succeeded = succeeded,
        Failed = total - succeeded,
        CompletedAt = FinishedAt,
    };
}
