using System.Text.Json;
using DurableJobs.Client.Schedules;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Schedules;

namespace DurableJobs.Tools.RecordHistories;

/// <summary>
/// One history file: what runs, on a host with which settings, and which instances' histories it keeps. The files
/// are what the replay tests of <c>DurableJobs.Orchestration.Tests</c> replay; keep the batches small (tens of jobs)
/// so each file stays well under 200 KB.
/// </summary>
internal sealed record Scenario(string Name, string Description, IReadOnlyDictionary<string, string?> Settings, Func<RecordingHost, Task<IReadOnlyList<RecordedInstance>>> RunAsync);

/// <summary>The recorded scenarios.</summary>
internal static class Scenarios
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    // Two lanes of two slots at cap 4 (MinLanes would make four lanes of one), chunks sized for 0.4 s, a short grace.
    private static readonly Dictionary<string, string?> Lanes = new()
    {
        ["DurableJobs:Client:MinLanes"] = "2",
        ["DurableJobs:Client:TargetChunkSeconds"] = "0.4",
        ["DurableJobs:Client:StopGrace"] = "00:00:10",
    };

    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("lanes-completed",
            "30 jobs at cap 4 over 2 lanes of 2 slots, each lane granted its next chunk ahead; 0.4 s chunks, one job failing once and retried, one failing for good",
            Lanes,
            async host =>
            {
                string id = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "lanes-completed",
                    MaxParallel = 4,
                    DeadlineSeconds = 600,
                    Retry = new RetrySpec { MaxAttempts = 2, FirstRetryDelaySeconds = 0.1 },
                    Jobs = [.. Enumerable.Range(0, 30).Select(i => i switch
                    {
                        7 => Job("fail", new { failTimes = 1, message = "fails once" }),
                        19 => Job("fail", new { message = "fails every time" }),
                        _ => Job("delay", new { ms = 50 + (i * 37 % 200) }),
                    })],
                });
                return [await EndedAsync(host, id, BatchStatus.Completed)];
            }),
        new("lanes-cancelled",
            "10 jobs of 5 s at cap 2 (2 lanes of 1 slot, a chunk ahead each), cancelled after 2 s: the grace timer, chunks ending Cancelled, the jobs never started recorded",
            Lanes,
            async host =>
            {
                string id = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "lanes-cancelled",
                    MaxParallel = 2,
                    DeadlineSeconds = 600,
                    Jobs = [.. Enumerable.Range(0, 10).Select(_ => Job("delay", new { ms = 5_000 }))],
                });
                await Task.Delay(TimeSpan.FromSeconds(2));
                await host.Batches.CancelAsync(id, "recorded cancel");
                return [await EndedAsync(host, id, BatchStatus.Cancelled)];
            }),
        new("lanes-timed-out",
            "6 jobs of 2 s at cap 2 (2 lanes of 1 slot, a chunk ahead each) with a 3 s deadline: the deadline timer (re-armed while it fires early), the running chunks stopped, the rest recorded TimedOut",
            Lanes,
            async host =>
            {
                string id = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "lanes-timed-out",
                    MaxParallel = 2,
                    DeadlineSeconds = 3,
                    Jobs = [.. Enumerable.Range(0, 6).Select(_ => Job("delay", new { ms = 2_000 }))],
                });
                return [await EndedAsync(host, id, BatchStatus.TimedOut)];
            }),
        new("parts",
            "Parts of at most 10 jobs (sub-orchestrations {batchId}:part-NNNN answering with PartFinished): 25 jobs at cap 4 in 3 parts, completed; and 30 jobs of 0.5 s at cap 2 cancelled during its second part (the cancel forwarded to the part)",
            new Dictionary<string, string?>(Lanes) { ["DurableJobs:Client:MaxJobsPerOrchestration"] = "10", ["DurableJobs:Client:StopGrace"] = "00:00:02" },
            async host =>
            {
                var recorded = new List<RecordedInstance>();
                string completed = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "parts-completed",
                    MaxParallel = 4,
                    DeadlineSeconds = 600,
                    Jobs = [.. Enumerable.Range(0, 25).Select(i => Job("delay", new { ms = 50 + (i % 5 * 20) }))],
                });
                recorded.AddRange(await WithPartsAsync(host, completed, BatchStatus.Completed));

                string cancelled = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "parts-cancelled",
                    MaxParallel = 2,
                    DeadlineSeconds = 600,
                    Jobs = [.. Enumerable.Range(0, 30).Select(_ => Job("delay", new { ms = 500 }))],
                });
                await Task.Delay(TimeSpan.FromSeconds(3.5));
                await host.Batches.CancelAsync(cancelled, "recorded cancel");
                recorded.AddRange(await WithPartsAsync(host, cancelled, BatchStatus.Cancelled));
                return recorded;
            }),
        new("delayed-start",
            "Delayed batches (startAfterSeconds): 4 jobs at cap 2 starting 2 s after submission and completing; and one due in 60 s cancelled 1 s after submission, before its start (every job Cancelled, none run)",
            new Dictionary<string, string?>(),
            async host =>
            {
                string started = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "delayed-completed",
                    MaxParallel = 2,
                    DeadlineSeconds = 600,
                    StartAfterSeconds = 2,
                    Jobs = [.. Enumerable.Range(0, 4).Select(_ => Job("delay", new { ms = 100 }))],
                });
                string cancelled = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "delayed-cancelled",
                    MaxParallel = 2,
                    DeadlineSeconds = 600,
                    StartAfterSeconds = 60,
                    Jobs = [.. Enumerable.Range(0, 4).Select(_ => Job("delay", new { ms = 100 }))],
                });
                await Task.Delay(TimeSpan.FromSeconds(1));
                await host.Batches.CancelAsync(cancelled, "recorded cancel before the start");
                return [await EndedAsync(host, started, BatchStatus.Completed), await EndedAsync(host, cancelled, BatchStatus.Cancelled)];
            }),
        new("hooks",
            "Completion hooks: 4 jobs at cap 2 with onComplete (a queue) and a next batch only on success; the batch starts its {batchId}:hook instance (fire and forget) in its last episode, which puts the view on the queue and starts {batchId}.next",
            new Dictionary<string, string?>(),
            async host =>
            {
                string id = await host.SubmitAsync(new BatchRequest
                {
                    BatchId = "hooks-completed",
                    MaxParallel = 2,
                    DeadlineSeconds = 600,
                    Jobs = [.. Enumerable.Range(0, 4).Select(_ => Job("delay", new { ms = 100 }))],
                    OnComplete = new CompletionHook { Queue = "hooks-done" },
                    Next = new NextBatch { OnlyOnSuccess = true, Batch = new BatchRequest { MaxParallel = 1, Jobs = [Job("echo", new { n = 1 })] } },
                });
                RecordedInstance batch = await EndedAsync(host, id, BatchStatus.Completed);
                string hook = Orchestration.Hooks.HookNames.InstanceIdOf(id);
                await host.WaitForCompletionAsync(hook, Patience);
                await host.WaitForBatchAsync(id + ".next", Patience);
                return [batch, await host.StoredHistoryAsync(hook)];
            }),
        new("schedule",
            "Schedule 'tick' (every 2 s, UTC, overlap skip, a 2.5 s batch): every execution of its orchestration, each but the last ending with continue-as-new; an occurrence started, one skipped while it ran, a manual trigger, then a delete",
            new Dictionary<string, string?>(),
            async host =>
            {
                const string name = "tick";
                ScheduleSetOutcome set = await host.ScheduleClient.SetAsync(name, new ScheduleDefinition
                {
                    Cron = "*/2 * * * * *",
                    TimeZone = "UTC",
                    Overlap = ScheduleOverlap.Skip,
                    Template = new BatchRequest { MaxParallel = 1, DeadlineSeconds = 60, Jobs = [Job("delay", new { ms = 2_500 })] },
                });
                if (!set.Accepted)
                {
                    throw new InvalidOperationException($"The schedule was refused: {set.Validation}");
                }

                await Task.Delay(TimeSpan.FromSeconds(4.2));
                await host.ScheduleClient.TriggerAsync(name);
                await Task.Delay(TimeSpan.FromSeconds(1));
                await host.ScheduleClient.DeleteAsync(name);
                string instanceId = ScheduleNames.InstanceIdOf(name);
                IReadOnlyList<RecordedInstance> executions = host.Schedules.Executions(instanceId);
                if (executions.Count < 2 || executions[^1].Outcome != "Completed" || executions.SkipLast(1).Any(e => e.Outcome != "ContinuedAsNew"))
                {
                    throw new InvalidOperationException($"Expected executions that continued as new and a last one completed, got: {string.Join(", ", executions.Select(e => e.Outcome))}.");
                }

                return executions;
            }),
    ];

    private static JobSpec Job(string type, object payload) => new() { Type = type, Payload = JsonSerializer.SerializeToElement(payload) };

    private static async Task<RecordedInstance> EndedAsync(RecordingHost host, string batchId, BatchStatus expected)
    {
        Client.BatchView view = await host.WaitForBatchAsync(batchId, Patience);
        if (view.Status != expected)
        {
            throw new InvalidOperationException($"Batch {batchId} ended {view.Status}, not {expected}: the history would not show what its file says.");
        }

        return await host.StoredHistoryAsync(batchId);
    }

    /// <summary>The batch's history and then each of its parts' (part-0000, part-0001, … as long as one exists).</summary>
    private static async Task<IReadOnlyList<RecordedInstance>> WithPartsAsync(RecordingHost host, string batchId, BatchStatus expected)
    {
        var recorded = new List<RecordedInstance> { await EndedAsync(host, batchId, expected) };
        for (int part = 0; ; part++)
        {
            string partId = $"{batchId}:part-{part:D4}";
            if (!await host.ExistsAsync(partId))
            {
                break;
            }

            await host.WaitForCompletionAsync(partId, Patience);
            recorded.Add(await host.StoredHistoryAsync(partId));
        }

        if (recorded.Count < 3)
        {
            throw new InvalidOperationException($"Batch {batchId} ran {recorded.Count - 1} parts; at least two were meant.");
        }

        return recorded;
    }
}
