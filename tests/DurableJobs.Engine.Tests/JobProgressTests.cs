using System.Collections.Concurrent;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// Issue 17 on Azurite: a running job's progress in <c>jobs?status=Running</c>, a checkpoint that a redelivered attempt
/// (after its worker stopped) resumes from, and <c>jobTimeoutSeconds</c> cancelling and retrying a silent attempt while
/// the batch's other jobs keep running in their slots.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class JobProgressTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly Dictionary<string, string?> FastFailover = new()
    {
        ["DurableJobs:LeaseInterval"] = "00:00:05",
        ["DurableJobs:LeaseRenewInterval"] = "00:00:01",
        ["DurableJobs:LeaseAcquireInterval"] = "00:00:01",
        ["DurableJobs:WorkItemQueueVisibilityTimeout"] = "00:00:10",
        ["DurableJobs:ControlQueueVisibilityTimeout"] = "00:00:10",
    };

    [Fact]
    public async Task A_stepping_job_shows_its_progress_in_status_Running_while_it_runs_and_its_row_is_gone_once_it_finished()
    {
        var ledger = new StepLedger();
        await using EngineHost host = await StartAsync("prog" + Guid.NewGuid().ToString("N")[..12], ledger);
        BatchRequest request = Batch([Stepper("a", steps: 10, stepMs: 600), Stepper("b", steps: 10, stepMs: 600)], maxParallel: 2);
        string id = (await host.Client.SubmitAsync(request)).BatchId!;

        JobPage running = await Eventually.MatchAsync(
            async () => (await host.Client.GetJobsAsync(id, JobStatus.Running))!,
            page => page.Items.Count == 2 && page.Items.All(j => j.Progress?.Value >= 30),
            Patience, TimeSpan.FromMilliseconds(200), "both jobs listed Running at 30 % or more");
        DateTimeOffset seenAt = DateTimeOffset.UtcNow;

        Assert.Equal(["a", "b"], running.Items.Select(j => j.Id));
        foreach (JobResult job in running.Items)
        {
            output.WriteLine($"{job.Id}: {job.Progress!.Value} % '{job.Progress.Message}' reported {job.Progress.ReportedAt:O}, seen {seenAt:O}");
            Assert.Equal((JobStatus.Running, 1, "stepper"), (job.Status, job.Attempts, job.Type));
            Assert.Matches("^step [0-9]+ of 10$", job.Progress.Message);
            Assert.NotNull(job.StartedAt);
            Assert.NotNull(job.Worker);

            // Written at most a second (the flush interval) after it was reported, plus the read's own latency.
            Assert.InRange(seenAt - job.Progress.ReportedAt!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        }

        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(200), "batch finished");
        Assert.Equal((BatchStatus.Completed, 2), (view.Status, view.Succeeded));
        Assert.Empty((await host.Client.GetJobsAsync(id, JobStatus.Running))!.Items);
        IReadOnlyList<JobResult> rows = await Eventually.MatchAsync(
            () => host.Services.GetRequiredService<IJobProgressStore>().ReadRunningAsync(id), r => r.Count == 0, TimeSpan.FromSeconds(30), what: "progress rows deleted");
        Assert.Empty(rows);
    }

    [Fact]
    public async Task A_job_whose_worker_stopped_mid_run_resumes_on_the_next_worker_from_the_last_checkpoint_it_saved()
    {
        string hub = "ckpt" + Guid.NewGuid().ToString("N")[..12];
        var ledger = new StepLedger();
        BatchRequest request = Batch([Stepper("long", steps: 40, stepMs: 250, checkpoint: true)], maxParallel: 1);
        string id;
        int savedBeforeStop;
        await using (EngineHost first = await StartAsync(hub, ledger))
        {
            id = (await first.Client.SubmitAsync(request)).BatchId!;
            await Eventually.MatchAsync(() => Task.FromResult(ledger.LastSaved("long")), step => step >= 8, Patience, what: "8 steps checkpointed");
            await first.StopAsync();
            savedBeforeStop = ledger.LastSaved("long");
        }

        await using EngineHost second = await StartAsync(hub, ledger);
        BatchView view = await Eventually.MatchAsync(async () => (await second.Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(250), "batch finished on the second worker");

        Assert.Equal((BatchStatus.Completed, 1), (view.Status, view.Succeeded));
        int?[] received = ledger.ReceivedCheckpoints("long");
        output.WriteLine($"checkpoints received per attempt: {string.Join(", ", received.Select(r => r?.ToString() ?? "none"))}; last saved before the stop: {savedBeforeStop}");
        Assert.Equal(2, received.Length);
        Assert.Null(received[0]);
        Assert.Equal(savedBeforeStop, received[1]);
        JobResult job = Assert.Single((await second.Client.GetJobsAsync(id))!.Items);
        Assert.Equal(40 - savedBeforeStop, job.Output!.Value.GetProperty("stepsRun").GetInt32());
    }

    [Fact]
    public async Task A_job_silent_past_its_3s_timeout_is_cancelled_about_3s_after_it_started_and_retried_while_two_reporting_jobs_keep_their_slots()
    {
        var ledger = new StepLedger();
        await using EngineHost host = await StartAsync("tout" + Guid.NewGuid().ToString("N")[..12], ledger);
        BatchRequest request = Batch(
            [
                new JobSpec { Id = "silent", Type = "silent-once", JobTimeoutSeconds = 3 },
                Stepper("busy-1", steps: 16, stepMs: 500),
                Stepper("busy-2", steps: 16, stepMs: 500),
            ],
            maxParallel: 3) with
        {
            JobTimeoutSeconds = 2.5, // the batch default: the steppers report every 0.5 s, so it never fires for them
            Retry = new RetrySpec { MaxAttempts = 2, FirstRetryDelaySeconds = 0.1 },
        };

        string id = (await host.Client.SubmitAsync(request)).BatchId!;
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(id))!, v => v.IsFinished, Patience, TimeSpan.FromMilliseconds(200), "batch finished");
        Dictionary<string, JobResult> jobs = (await host.Client.GetJobsAsync(id))!.Items.ToDictionary(j => j.Id);

        Assert.Equal((BatchStatus.Completed, 3), (view.Status, view.Succeeded));
        Assert.Equal(2, jobs["silent"].Attempts);
        (DateTimeOffset Started, DateTimeOffset Ended)[] silent = ledger.SilentAttempts;
        Assert.Equal(2, silent.Length);
        TimeSpan firstRan = silent[0].Ended - silent[0].Started;
        output.WriteLine($"silent attempt 1 ran {firstRan.TotalSeconds:0.000} s; attempt 2 started {(silent[1].Started - silent[0].Ended).TotalSeconds:0.000} s after it ended");
        Assert.InRange(firstRan, TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(3 + 5));

        foreach (string busy in new[] { "busy-1", "busy-2" })
        {
            JobResult job = jobs[busy];
            output.WriteLine($"{busy}: {job.StartedAt:O} .. {job.FinishedAt:O}, {job.Attempts} attempt(s)");
            Assert.Equal((JobStatus.Succeeded, 1), (job.Status, job.Attempts));

            // Running in its slot all along: it started before the silent attempt was cancelled and ended after its retry started.
            Assert.True(job.StartedAt < silent[0].Ended && job.FinishedAt > silent[1].Started, $"{busy} did not run across the silent job's timeout and retry");
        }
    }

    private Task<EngineHost> StartAsync(string hub, StepLedger ledger) =>
        EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), FastFailover, jobs =>
        {
            jobs.AddHandler("stepper", new StepperHandler(ledger));
            jobs.AddHandler("silent-once", new SilentOnceHandler(ledger));
        });

    private static BatchRequest Batch(IReadOnlyList<JobSpec> jobs, int maxParallel) => new()
    {
        Jobs = jobs,
        MaxParallel = maxParallel,
        DeadlineSeconds = 300,
    };

    private static JobSpec Stepper(string id, int steps, int stepMs, bool checkpoint = false) => new()
    {
        Id = id,
        Type = "stepper",
        Payload = JsonSerializer.SerializeToElement(new { steps, stepMs, checkpoint }),
    };

    /// <summary>What the handlers saw, by job id.</summary>
    private sealed class StepLedger
    {
        private readonly ConcurrentDictionary<string, int> saved = new();
        private readonly ConcurrentQueue<(string JobId, int? Step)> received = new();
        private readonly ConcurrentQueue<(DateTimeOffset Started, DateTimeOffset Ended)> silent = new();

        public void Received(string jobId, int? step) => received.Enqueue((jobId, step));

        public void Saved(string jobId, int step) => saved[jobId] = step;

        public void Silent(DateTimeOffset started, DateTimeOffset ended) => silent.Enqueue((started, ended));

        public int LastSaved(string jobId) => saved.GetValueOrDefault(jobId);

        public int?[] ReceivedCheckpoints(string jobId) => [.. received.Where(r => r.JobId == jobId).Select(r => r.Step)];

        public (DateTimeOffset Started, DateTimeOffset Ended)[] SilentAttempts => [.. silent];
    }

    /// <summary><c>{"steps", "stepMs", "checkpoint"}</c>: sleeps step by step, reporting each; with checkpoints, resumes from the last.</summary>
    private sealed class StepperHandler(StepLedger ledger) : IJobHandler
    {
        public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            int steps = payload.GetProperty("steps").GetInt32();
            int stepMs = payload.GetProperty("stepMs").GetInt32();
            bool checkpoint = payload.GetProperty("checkpoint").GetBoolean();
            int? from = context.Checkpoint?.GetProperty("step").GetInt32();
            ledger.Received(context.JobId, from);
            int run = 0;
            for (int step = (from ?? 0) + 1; step <= steps; step++)
            {
                await Task.Delay(stepMs, cancellationToken);
                run++;
                context.ReportProgress(100.0 * step / steps, $"step {step} of {steps}");
                if (checkpoint)
                {
                    await context.SaveCheckpointAsync(JsonSerializer.SerializeToElement(new { step }), CancellationToken.None); // durable once saved, even while stopping
                    ledger.Saved(context.JobId, step);
                }
            }

            return JsonSerializer.SerializeToElement(new { stepsRun = run });
        }
    }

    /// <summary>Its first attempt never reports and waits for its token; later attempts return at once.</summary>
    private sealed class SilentOnceHandler(StepLedger ledger) : IJobHandler
    {
        public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            DateTimeOffset started = DateTimeOffset.UtcNow;
            try
            {
                if (context.Attempt == 1)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                return null;
            }
            finally
            {
                ledger.Silent(started, DateTimeOffset.UtcNow);
            }
        }
    }
}
