using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using CsCheck;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Execution;

/// <summary>
/// Attempts and back-off of <see cref="JobRunner"/> on a <see cref="FakeTimeProvider"/>: the test moves the clock, so
/// no back-off is waited for in real time (the real-time timeouts below only bound a wait that a correct runner ends at once).
/// </summary>
public sealed class JobRunnerRetryTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static Gen<RetryCase> RetryGen { get; } =
        from maxAttempts in Gen.Int[2, 8]
        from first in Gen.OneOf(Gen.Double[0.001, 2.0], Gen.Double[0.001, 120.0])
        from coefficient in Gen.OneOf(Gen.Const(1.0), Gen.Const(2.0), Gen.Double[1.0, 4.0])
        from cap in Gen.OneOf(Gen.Double[0.001, 30.0], Gen.Double[first, 600.0])
        from failTimes in Gen.Int[1, maxAttempts]
        select new RetryCase(new RetrySpec { MaxAttempts = maxAttempts, FirstRetryDelaySeconds = first, BackoffCoefficient = coefficient, MaxRetryDelaySeconds = cap }, failTimes);

    [Fact]
    public async Task AnyRetrySpec_EachRetryStartsExactlyDelayBeforeItsNumberAfterTheLastFailure_InWholeMilliseconds_NotATickEarlier()
    {
        await RetryGen.SampleAsync(
            async (RetryCase c) =>
            {
                (RetrySpec retry, int failTimes) = (c.Retry, c.FailTimes);
                var clock = new ScheduleClock(Start);
                var handler = new ScriptedHandler(clock, failTimes);
                using var stop = new JobStopSignals(Start.UtcDateTime.AddDays(30), CancellationToken.None, CancellationToken.None, clock);
                Task<JobResult> run = Runner(handler, clock).RunAsync("batch", Job, retry, stop).AsTask();

                DateTimeOffset lastFailure = await handler.NextAttemptAsync();
                int attempts = Math.Min(failTimes + 1, retry.MaxAttempts);
                for (int attempt = 2; attempt <= attempts; attempt++)
                {
                    // Task.Delay counts whole milliseconds: a back-off of 28.57 ms is a wait of 28 ms.
                    TimeSpan delay = TimeSpan.FromMilliseconds(Math.Floor(retry.DelayBefore(attempt).TotalMilliseconds));
                    await clock.WaitForTimerAtAsync(lastFailure + delay);
                    int fired = clock.Fired;
                    clock.Advance(delay - Tick);
                    Assert.True(clock.Fired == fired, $"the back-off before attempt {attempt} ended before {delay.TotalSeconds} s");
                    clock.Advance(Tick);
                    Assert.True(clock.Fired == fired + 1, $"the back-off before attempt {attempt} had not ended after {delay.TotalSeconds} s");
                    DateTimeOffset started = await handler.NextAttemptAsync();
                    Assert.Equal(lastFailure + delay, started);
                    lastFailure = started;
                }

                JobResult result = await EndedAsync(run, $"attempt {attempts}");
                Assert.Equal(failTimes < retry.MaxAttempts ? JobStatus.Succeeded : JobStatus.Failed, result.Status);
                Assert.Equal(attempts, result.Attempts);
                Assert.Equal(lastFailure, result.FinishedAt);
            },
            iter: 300,
            writeLine: output.WriteLine);
    }

    [Fact]
    public async Task FirstDelayOneSecond_CoefficientTwo_CapFive_SixAttemptsStartAt0_1_3_7_12_17Seconds()
    {
        var clock = new ScheduleClock(Start);
        var handler = new ScriptedHandler(clock, failTimes: 6);
        var retry = new RetrySpec { MaxAttempts = 6, FirstRetryDelaySeconds = 1, BackoffCoefficient = 2, MaxRetryDelaySeconds = 5 };
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, CancellationToken.None, clock);
        Task<JobResult> run = Runner(handler, clock).RunAsync("batch", Job, retry, stop).AsTask();

        var startedAt = new List<double> { (await handler.NextAttemptAsync() - Start).TotalSeconds };
        // The clock moves only once the failed attempt's back-off is armed: the handler reports an attempt as it starts,
        // and the runner arms the back-off after the failure, on its own thread. A CI run advanced past 17 s before the
        // third back-off existed, so it was armed after the last advance and the job never ended. A back-off is the only
        // timer due within a minute (the stop signal's deadline is an hour away).
        await clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(1));
        for (int second = 1; second <= 20; second++)
        {
            // Second by second: a back-off that ends now starts the next attempt at this second.
            int fired = clock.Fired;
            clock.Advance(TimeSpan.FromSeconds(1));
            if (clock.Fired > fired)
            {
                startedAt.Add((await handler.NextAttemptAsync() - Start).TotalSeconds);
                if (startedAt.Count < retry.MaxAttempts)
                {
                    await clock.WaitForTimerWithinAsync(TimeSpan.FromMinutes(1));
                }
            }
        }

        JobResult result = await EndedAsync(run, $"20 s with attempts at {string.Join(", ", startedAt)} s");
        Assert.Equal([0, 1, 3, 7, 12, 17], startedAt);
        Assert.Equal((JobStatus.Failed, 6, "attempt 6 failed"), (result.Status, result.Attempts, result.Error?.Message));
    }

    [Fact]
    public async Task CancelFiveSecondsIntoATenSecondBackOff_EndsCancelledAtOnce_AfterOneAttempt_WithItsError()
    {
        var time = new ScheduleClock(Start);
        var handler = new ScriptedHandler(time, failTimes: 3);
        using var cancel = new CancellationTokenSource();
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), cancel.Token, CancellationToken.None, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, TenSecondBackOff, stop).AsTask();
        await handler.NextAttemptAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));

        await cancel.CancelAsync();
        JobResult result = await EndedAsync(run, "the cancel");

        Assert.Equal((JobStatus.Cancelled, 1, "attempt 1 failed"), (result.Status, result.Attempts, result.Error?.Message));
        Assert.Equal(Start.AddSeconds(5), result.FinishedAt);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(handler.TryNextAttempt(out _), "an attempt started after the cancel");
    }

    [Fact]
    public async Task DeadlineSevenSecondsIntoATenSecondBackOff_EndsTimedOutAtTheDeadline_NotAtTheEndOfTheBackOff()
    {
        var time = new ScheduleClock(Start);
        var handler = new ScriptedHandler(time, failTimes: 3);
        using var stop = new JobStopSignals(Start.UtcDateTime.AddSeconds(7), CancellationToken.None, CancellationToken.None, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, TenSecondBackOff, stop).AsTask();
        await handler.NextAttemptAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(10));

        time.Advance(TimeSpan.FromSeconds(7));
        JobResult result = await EndedAsync(run, "the deadline");

        Assert.Equal((JobStatus.TimedOut, 1, "attempt 1 failed"), (result.Status, result.Attempts, result.Error?.Message));
        Assert.Equal(Start.AddSeconds(7), result.FinishedAt);
    }

    [Fact]
    public async Task DeadlinePassedAndBatchCancelledBeforeTheFirstAttempt_EndsCancelledWithNoAttempt()
    {
        // When both stops have fired, JobStopSignals says Cancelled: the caller's explicit wish wins over the clock.
        var time = new FakeTimeProvider(Start);
        var handler = new ScriptedHandler(time, failTimes: 3);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();
        using var stop = new JobStopSignals(Start.UtcDateTime, cancel.Token, CancellationToken.None, time);

        JobResult result = await EndedAsync(Runner(handler, time).RunAsync("batch", Job, TenSecondBackOff, stop).AsTask(), "starting with both stops fired");

        Assert.Equal((JobStatus.Cancelled, 0), (result.Status, result.Attempts));
        Assert.False(handler.TryNextAttempt(out _), "a handler ran for a job stopped before it started");
    }

    [Fact]
    public async Task HostStoppingDuringABackOff_AbandonsTheJobForRedelivery_WithoutAResult()
    {
        var time = new ScheduleClock(Start);
        var handler = new ScriptedHandler(time, failTimes: 3);
        using var hostStopping = new CancellationTokenSource();
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, hostStopping.Token, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, TenSecondBackOff, stop).AsTask();
        await handler.NextAttemptAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));

        await hostStopping.CancelAsync();

        await Assert.ThrowsAsync<WorkerShuttingDownException>(() => EndedAsync(run, "the host stopped"));
        Assert.Equal(Start.AddSeconds(5), time.GetUtcNow());
    }

    private sealed record RetryCase(RetrySpec Retry, int FailTimes)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Retry}, fails {FailTimes} times");
    }

    /// <summary>The job's result; a job still running after <see cref="Patience"/> of real time fails the test, saying after what.</summary>
    private static async Task<JobResult> EndedAsync(Task<JobResult> run, string after)
    {
        try
        {
            return await run.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"The job had not ended {Patience.TotalSeconds:0} s (real time) after {after}; the fake clock stood still meanwhile.");
        }
    }

    private static RetrySpec TenSecondBackOff { get; } = new() { MaxAttempts = 3, FirstRetryDelaySeconds = 10, BackoffCoefficient = 2 };

    private static ScheduledJob Job { get; } = new(0, "job-0", "scripted", null);

    private static JobRunner Runner(ScriptedHandler handler, TimeProvider time) => new(
        new JobHandlerRegistry().Add("scripted", handler),
        new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(),
        new WorkerIdentity("test-worker"),
        time,
        NullLogger.Instance,
        NullLogger.Instance);

    /// <summary>Fails its first <c>failTimes</c> attempts, then succeeds; says when (on the fake clock) each attempt started.</summary>
    private sealed class ScriptedHandler(TimeProvider time, int failTimes) : IJobHandler
    {
        private readonly Channel<DateTimeOffset> attempts = Channel.CreateUnbounded<DateTimeOffset>();

        public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            attempts.Writer.TryWrite(time.GetUtcNow());
            return context.Attempt <= failTimes
                ? throw new InvalidOperationException($"attempt {context.Attempt} failed")
                : ValueTask.FromResult<JsonElement?>(null);
        }

        public async Task<DateTimeOffset> NextAttemptAsync()
        {
            try
            {
                return await attempts.Reader.ReadAsync().AsTask().WaitAsync(Patience);
            }
            catch (TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"No attempt started within {Patience.TotalSeconds:0} s (real time); the fake clock stood at {time.GetUtcNow():O}.");
            }
        }

        public bool TryNextAttempt(out DateTimeOffset startedAt) => attempts.Reader.TryRead(out startedAt);
    }
}
