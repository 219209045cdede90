using System.Text.Json;
using System.Threading.Channels;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Limits;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Tests.Limits;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Orchestration.Tests.Execution;

/// <summary>
/// A handler's <see cref="JobThrottledException"/> in <see cref="JobRunner"/>, on a <see cref="FakeTimeProvider"/>: the job
/// waits the asked time on its stop token and runs again as the same attempt. The handler reports a run as it starts and
/// the runner arms its wait after the throw, on its own thread, so each test waits for that timer before it moves the clock.
/// </summary>
public sealed class JobRunnerThrottleTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly RetrySpec OneAttempt = new() { MaxAttempts = 1 };

    [Fact]
    public async Task A_job_throttled_twice_for_3_s_runs_at_0_3_and_6_s_and_succeeds_as_attempt_1_of_1()
    {
        var time = new ScheduleClock(Start);
        var handler = new ThrottlingHandler(time, throttleTimes: 2, TimeSpan.FromSeconds(3));
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, CancellationToken.None, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, OneAttempt, stop).AsTask();

        var runs = new List<(double At, int Attempt)> { await handler.NextRunAsync() };
        for (int i = 0; i < 2; i++)
        {
            await time.WaitForTimerAtAsync(Start.AddSeconds(3 * (i + 1)));
            time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
            await Task.Delay(100);
            Assert.False(handler.TryNextRun(out _), $"run {i + 2} started before the 3 s wait ended");
            time.Advance(TimeSpan.FromMilliseconds(1));
            runs.Add(await handler.NextRunAsync());
        }

        JobResult result = await run.WaitAsync(Patience);
        Assert.Equal([(0, 1), (3, 1), (6, 1)], runs);
        Assert.Equal((JobStatus.Succeeded, 1, 2, Start), (result.Status, result.Attempts, result.Throttled, result.StartedAt!.Value));
        Assert.Null(result.Error);
    }

    [Fact]
    public async Task A_cancel_10_s_into_a_60_s_throttle_wait_ends_the_job_Cancelled_at_10_s_without_another_run()
    {
        var time = new ScheduleClock(Start);
        var handler = new ThrottlingHandler(time, throttleTimes: 5, TimeSpan.FromSeconds(60));
        using var cancel = new CancellationTokenSource();
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), cancel.Token, CancellationToken.None, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, new RetrySpec { MaxAttempts = 3 }, stop).AsTask();
        await handler.NextRunAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(60));
        time.Advance(TimeSpan.FromSeconds(10));

        await cancel.CancelAsync();
        JobResult result = await run.WaitAsync(Patience);

        Assert.Equal((JobStatus.Cancelled, 1, 1, Start.AddSeconds(10)), (result.Status, result.Attempts, result.Throttled, result.FinishedAt!.Value));
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(100);
        Assert.False(handler.TryNextRun(out _), "the job ran again after its cancel");
    }

    [Fact]
    public async Task A_deadline_during_a_throttle_wait_ends_the_job_TimedOut_at_the_deadline()
    {
        var time = new ScheduleClock(Start);
        var handler = new ThrottlingHandler(time, throttleTimes: 5, TimeSpan.FromSeconds(60));
        using var stop = new JobStopSignals(Start.UtcDateTime.AddSeconds(7), CancellationToken.None, CancellationToken.None, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, OneAttempt, stop).AsTask();
        await handler.NextRunAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(60));

        time.Advance(TimeSpan.FromSeconds(7));
        JobResult result = await run.WaitAsync(Patience);

        Assert.Equal((JobStatus.TimedOut, 1, Start.AddSeconds(7)), (result.Status, result.Attempts, result.FinishedAt!.Value));
    }

    [Fact]
    public async Task Host_shutdown_during_a_throttle_wait_abandons_the_job_for_redelivery()
    {
        var time = new ScheduleClock(Start);
        var handler = new ThrottlingHandler(time, throttleTimes: 5, TimeSpan.FromSeconds(60));
        using var hostStopping = new CancellationTokenSource();
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, hostStopping.Token, time);
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job, OneAttempt, stop).AsTask();
        await handler.NextRunAsync();

        await hostStopping.CancelAsync();

        await Assert.ThrowsAsync<WorkerShuttingDownException>(() => run.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_job_timeout_of_5_s_during_a_60_s_throttle_wait_fails_attempt_1_as_timed_out_and_attempt_2_runs_after_its_back_off()
    {
        var time = new ScheduleClock(Start);
        var handler = new ThrottlingHandler(time, throttleTimes: 1, TimeSpan.FromSeconds(60));
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, CancellationToken.None, time);
        var retry = new RetrySpec { MaxAttempts = 2, FirstRetryDelaySeconds = 1 };
        Task<JobResult> run = Runner(handler, time).RunAsync("batch", Job with { TimeoutSeconds = 5 }, retry, stop).AsTask();
        await handler.NextRunAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(60));

        time.Advance(TimeSpan.FromSeconds(5));
        await time.WaitForTimerAtAsync(Start.AddSeconds(6));
        time.Advance(TimeSpan.FromSeconds(1));
        (double at, int attempt) = await handler.NextRunAsync();

        JobResult result = await run.WaitAsync(Patience);
        Assert.Equal((6.0, 2), (at, attempt));
        Assert.Equal((JobStatus.Succeeded, 2, 1), (result.Status, result.Attempts, result.Throttled));
    }

    [Fact]
    public async Task A_throttled_job_gives_its_limit_of_1_back_for_its_wait_so_another_job_runs_meanwhile()
    {
        var time = new ScheduleClock(Start);
        var store = new InMemoryLimitStore();
        var catalog = new LimitCatalog();
        catalog.Declare("api", new LimitSettings { MaxConcurrent = 1 });
        catalog.MapType("throttled", ["api"]);
        catalog.MapType("plain", ["api"]);
        await using var gates = new LimitGates(store, catalog, new WorkerIdentity("w1"), time, NullLoggerFactory.Instance);
        var throttled = new ThrottlingHandler(time, throttleTimes: 1, TimeSpan.FromSeconds(30));
        var plain = new ThrottlingHandler(time, throttleTimes: 0, TimeSpan.Zero);
        var runner = new JobRunner(
            new JobHandlerRegistry().Add("throttled", throttled).Add("plain", plain),
            new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(),
            new WorkerIdentity("w1"),
            time,
            NullLogger.Instance,
            NullLogger.Instance,
            limitCatalog: catalog,
            limitGates: gates);
        using var stop = new JobStopSignals(Start.UtcDateTime.AddHours(1), CancellationToken.None, CancellationToken.None, time);

        Task<JobResult> first = runner.RunAsync("batch", new ScheduledJob(0, "a", "throttled", null), OneAttempt, stop).AsTask();
        await throttled.NextRunAsync();
        await time.WaitForTimerAtAsync(Start.AddSeconds(30));
        JobResult other = await runner.RunAsync("batch", new ScheduledJob(1, "b", "plain", null), OneAttempt, stop).AsTask().WaitAsync(Patience);
        Assert.Equal(JobStatus.Succeeded, other.Status);

        time.Advance(TimeSpan.FromSeconds(30));
        JobResult result = await first.WaitAsync(Patience);
        Assert.Equal((JobStatus.Succeeded, 1, 1), (result.Status, result.Attempts, result.Throttled));
        Assert.Equal(0, gates.Gate("api").InUse);
    }

    private static ScheduledJob Job { get; } = new(0, "job-0", "throttled", null);

    private static JobRunner Runner(ThrottlingHandler handler, TimeProvider time) => new(
        new JobHandlerRegistry().Add("throttled", handler),
        new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>(),
        new WorkerIdentity("test-worker"),
        time,
        NullLogger.Instance,
        NullLogger.Instance);

    /// <summary>Throttled its first <c>throttleTimes</c> runs, then succeeds; says when (seconds on the fake clock) and as which attempt each ran.</summary>
    private sealed class ThrottlingHandler(TimeProvider time, int throttleTimes, TimeSpan retryAfter) : IJobHandler
    {
        private readonly Channel<(double, int)> runs = Channel.CreateUnbounded<(double, int)>();
        private int count;

        public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            runs.Writer.TryWrite(((time.GetUtcNow() - Start).TotalSeconds, context.Attempt));
            return Interlocked.Increment(ref count) <= throttleTimes
                ? throw new JobThrottledException(retryAfter)
                : ValueTask.FromResult<JsonElement?>(null);
        }

        public async Task<(double At, int Attempt)> NextRunAsync() => await runs.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        public bool TryNextRun(out (double At, int Attempt) run) => runs.Reader.TryRead(out run);
    }
}
