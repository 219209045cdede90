using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>The no-op batch every throughput row runs: <c>echo</c> jobs, submitted through the client and waited for.</summary>
internal static class EchoBatch
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Submits <paramref name="size"/> echo jobs at <paramref name="cap"/>, waits until the orchestration completes and
    /// checks every job succeeded. Returns the batch id and the time from submit to completion.
    /// </summary>
    /// <remarks><paramref name="eachPoll"/> is called on every poll, e.g. to fail fast when a worker process died.</remarks>
    public static async Task<(string BatchId, TimeSpan Elapsed)> RunAsync(IServiceProvider services, int size, int cap, Action? eachPoll, CancellationToken cancellationToken)
    {
        BatchClient client = services.GetRequiredService<BatchClient>();
        var request = new BatchRequest
        {
            MaxParallel = cap,
            DeadlineSeconds = 3_600,
            Jobs = Enumerable.Range(0, size).Select(i => new JobSpec { Type = "echo", Payload = JsonSerializer.SerializeToElement(i) }).ToList(),
        };
        var clock = Stopwatch.StartNew();
        SubmitOutcome outcome = await client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        string id = outcome.BatchId ?? throw new InvalidOperationException(outcome.Validation.ToString());
        await WaitCompletedAsync(services.GetRequiredService<DurableTaskClient>(), id, eachPoll, cancellationToken).ConfigureAwait(false);
        clock.Stop();

        BatchView view = (await client.GetAsync(id, cancellationToken).ConfigureAwait(false))!;
        if (view.Succeeded != size)
        {
            throw new InvalidOperationException($"Only {view.Succeeded} of {size} jobs succeeded.");
        }

        return (id, clock.Elapsed);
    }

    /// <summary>Waits until orchestration <paramref name="id"/> completes; throws if it ended any other way.</summary>
    public static async Task WaitCompletedAsync(DurableTaskClient durable, string id, Action? eachPoll, CancellationToken cancellationToken)
    {
        // Durable Task's own wait polls in ~2 s steps; poll faster so latency does not dominate small runs.
        while (true)
        {
            eachPoll?.Invoke();
            OrchestrationMetadata? metadata = await durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (metadata is { IsCompleted: true })
            {
                if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                {
                    throw new InvalidOperationException($"{id} ended {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorMessage}");
                }

                return;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }
}
