using System.Text.Json;
using System.Threading.Channels;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Orchestration.Tests.Execution;

/// <summary>
/// <c>jobTimeoutSeconds</c> in <see cref="JobRunner"/> on a <see cref="FakeTimeProvider"/>: an attempt that goes the
/// timeout without a heartbeat is cancelled and retried; heartbeats keep it alive; a handler that ignores its token is
/// abandoned a grace period later; a retry gets the checkpoint the attempt before it saved.
/// </summary>
public sealed class JobTimeoutTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);
    private static readonly RetrySpec TwoAttemptsOneSecondApart = new() { MaxAttempts = 2, FirstRetryDelaySeconds = 1 };

    [Fact]
    public async Task TenSecondTimeout_NoHeartbeat_CancelsAttempt1At10Seconds_NotATickEarlier_ThenAttempt2RunsAt11Seconds()
    {
        var time = new ScheduleClock(Start);
        var handler = new WaitingHandler(time, succeedFromAttempt: 2);
        using var stop = Unstopped(time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job(timeoutSeconds: 10), TwoAttemptsOneSecondApart, stop).AsTask();
        Attempt first = await handler.NextAttemptAsync();

        time.Advance(TimeSpan.FromSeconds(10) - Tick);
        Assert.False(first.Token.IsCancellationRequested, "cancelled before 10 s without a heartbeat");
        time.Advance(Tick);
        Assert.True(first.Token.IsCancellationRequested, "not cancelled after 10 s without a heartbeat");

        await time.WaitForTimerAtAsync(Start.AddSeconds(11));
        time.Advance(TimeSpan.FromSeconds(1));
        Attempt second = await handler.NextAttemptAsync();
        JobResult result = await run.WaitAsync(Patience);

        Assert.Equal(Start.AddSeconds(11), second.StartedAt);
        Assert.Equal((JobStatus.Succeeded, 2), (result.Status, result.Attempts));
    }

    [Fact]
    public async Task TenSecondTimeout_OneAttempt_EndsFailedWithJobTimeoutError_Naming10Seconds()
    {
        var time = new ScheduleClock(Start);
        var handler = new WaitingHandler(time, succeedFromAttempt: 99);
        using var stop = Unstopped(time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job(timeoutSeconds: 10), new RetrySpec(), stop).AsTask();
        await handler.NextAttemptAsync();

        time.Advance(TimeSpan.FromSeconds(10));
        JobResult result = await run.WaitAsync(Patience);

        Assert.Equal((JobStatus.Failed, 1, JobRunner.JobTimeoutError), (result.Status, result.Attempts, result.Error?.Type));
        Assert.Contains("no heartbeat for 10 s", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenSecondTimeout_HeartbeatEvery9Seconds_ForOneMinute_KeepsTheAttempt_ThenItIsCancelled10SecondsAfterTheLastBeat()
    {
        var time = new ScheduleClock(Start);
        var handler = new WaitingHandler(time, succeedFromAttempt: 99);
        using var stop = Unstopped(time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job(timeoutSeconds: 10), new RetrySpec(), stop).AsTask();
        Attempt attempt = await handler.NextAttemptAsync();

        for (int beat = 1; beat <= 7; beat++)
        {
            time.Advance(TimeSpan.FromSeconds(9));
            Assert.False(attempt.Token.IsCancellationRequested, $"cancelled at {beat * 9} s though it beat every 9 s");
            if (beat % 2 == 0)
            {
                attempt.Context.ReportProgress(beat, "a progress report counts as a heartbeat");
            }
            else
            {
                attempt.Context.Heartbeat();
            }
        }

        time.Advance(TimeSpan.FromSeconds(10) - Tick);
        Assert.False(attempt.Token.IsCancellationRequested, "cancelled less than 10 s after the last heartbeat");
        time.Advance(Tick);
        JobResult result = await run.WaitAsync(Patience);
        Assert.Equal((JobStatus.Failed, JobRunner.JobTimeoutError, Start.AddSeconds(73)), (result.Status, result.Error?.Type, result.FinishedAt));
    }

    [Fact]
    public async Task HandlerIgnoringItsToken_TenSecondTimeout_IsAbandonedAt15Seconds_AndTheRetryRunsAt16Seconds()
    {
        var time = new ScheduleClock(Start);
        var handler = new WaitingHandler(time, succeedFromAttempt: 2) { IgnoresToken = true };
        using var stop = Unstopped(time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job(timeoutSeconds: 10), TwoAttemptsOneSecondApart, stop).AsTask();
        await handler.NextAttemptAsync();

        time.Advance(TimeSpan.FromSeconds(10));
        await time.WaitForTimerAtAsync(Start.AddSeconds(15));
        time.Advance(TimeSpan.FromSeconds(5) - Tick);
        Assert.False(run.IsCompleted || handler.TryNextAttempt(out _), "the attempt ended before the ignoring handler was abandoned");
        time.Advance(Tick);
        await time.WaitForTimerAtAsync(Start.AddSeconds(16));
        time.Advance(TimeSpan.FromSeconds(1));
        Attempt second = await handler.NextAttemptAsync();
        JobResult result = await run.WaitAsync(Patience);

        Assert.Equal(Start.AddSeconds(16), second.StartedAt);
        Assert.Equal((JobStatus.Succeeded, 2), (result.Status, result.Attempts));
        handler.ReleaseIgnored();
    }

    [Fact]
    public async Task Attempt1SavesCheckpointStep3ThenTimesOut_Attempt2ReceivesStep3_Attempt1HadNone()
    {
        var time = new ScheduleClock(Start);
        var handler = new WaitingHandler(time, succeedFromAttempt: 2);
        using var stop = Unstopped(time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job(timeoutSeconds: 10), TwoAttemptsOneSecondApart, stop).AsTask();
        Attempt first = await handler.NextAttemptAsync();
        await first.Context.SaveCheckpointAsync(JsonSerializer.SerializeToElement(new { step = 3 }));

        time.Advance(TimeSpan.FromSeconds(10));
        await time.WaitForTimerAtAsync(Start.AddSeconds(11));
        time.Advance(TimeSpan.FromSeconds(1));
        Attempt second = await handler.NextAttemptAsync();
        await run.WaitAsync(Patience);

        Assert.Null(first.Context.Checkpoint);
        Assert.Equal(3, second.Context.Checkpoint?.GetProperty("step").GetInt32());
    }

    private static JobStopSignals Unstopped(TimeProvider time) => new(Start.UtcDateTime.AddDays(1), CancellationToken.None, CancellationToken.None, time);

    private static ScheduledJob Job(double timeoutSeconds) => new(0, "job-0", "waiting", null, timeoutSeconds);

    private static JobRunner Runner(WaitingHandler handler, TimeProvider time) => new(
        new JobHandlerRegistry().Add("waiting", handler),
        new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(),
        new WorkerIdentity("test-worker"),
        time,
        NullLogger.Instance,
        NullLogger.Instance)
    {
        AbandonAfter = TimeSpan.FromSeconds(5),
    };

    private sealed record Attempt(JobContext Context, CancellationToken Token, DateTimeOffset StartedAt);

    /// <summary>Waits on its token (or, ignoring it, on a gate) until <c>succeedFromAttempt</c>, which returns at once.</summary>
    private sealed class WaitingHandler(TimeProvider time, int succeedFromAttempt) : IJobHandler
    {
        private readonly Channel<Attempt> attempts = Channel.CreateUnbounded<Attempt>();
        private readonly TaskCompletionSource ignored = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IgnoresToken { get; init; }

        public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            attempts.Writer.TryWrite(new Attempt(context, cancellationToken, time.GetUtcNow()));
            if (context.Attempt >= succeedFromAttempt)
            {
                return null;
            }

            if (IgnoresToken)
            {
                await ignored.Task;
                return null;
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, time, cancellationToken);
            return null;
        }

        public void ReleaseIgnored() => ignored.TrySetResult();

        public async Task<Attempt> NextAttemptAsync() => await attempts.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        public bool TryNextAttempt(out Attempt? attempt) => attempts.Reader.TryRead(out attempt);
    }
}
