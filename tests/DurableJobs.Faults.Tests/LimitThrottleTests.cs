using System.Text.Json;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// A limit's effective concurrency adapting to a downstream in a real worker process: the <c>delay</c> handler's
/// <c>throttleAbove</c> plays a downstream (a counter in the worker) that refuses more than 3 calls at once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LimitThrottleTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task A_downstream_refusing_more_than_3_cuts_a_limit_of_8_and_clean_jobs_afterwards_restore_it_to_8_with_every_job_succeeded()
    {
        const int limit = 8, jobs = 120;
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsLimitThrottle", output, new Dictionary<string, string>
        {
            ["DurableJobs__NamedLimits__shared__MaxConcurrent"] = $"{limit}",
            ["DurableJobs__MaxConcurrentActivityWorkItems"] = "4",
        });
        try
        {
            // One worker: the simulated downstream is a counter inside it.
            await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync(new Dictionary<string, string> { ["DurableJobs__Client__FixedJobsPerChunk"] = "5" });
            using var client = new BatchApi(api.BaseAddress!);

            var effective = new List<int>();
            using var sampling = new CancellationTokenSource();
            Task sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    try
                    {
                        if (await EffectiveAsync(client) is { } value)
                        {
                            lock (effective)
                            {
                                effective.Add(value);
                            }
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // A sample lost to a busy machine: the next one counts.
                    }

                    await Task.Delay(100);
                }
            });

            await client.SubmitAsync(Limited(BatchApi.Batch("throttled", 20, jobs, "delay", """{"ms":100,"throttleAbove":3,"retryAfterMs":100}""")));
            JsonElement view = await client.WaitFinishedAsync("throttled", TimeSpan.FromMinutes(4), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            Assert.Equal(jobs, view.GetProperty("succeeded").GetInt32());
            List<JobRecord> throttledJobs = await client.GetJobsAsync("throttled");
            int lowest;
            lock (effective)
            {
                lowest = effective.Count > 0 ? effective.Min() : limit;
            }

            // The pressure stops: jobs that the downstream never refuses complete cleanly and grow the limit back.
            await client.SubmitAsync(Limited(BatchApi.Batch("clean", 20, jobs, "delay", """{"ms":50}""")));
            JsonElement cleanView = await client.WaitFinishedAsync("clean", TimeSpan.FromMinutes(4), () => string.Join(Environment.NewLine, cluster.Processes.Select(p => p.Tail())));
            Assert.Equal(jobs, cleanView.GetProperty("succeeded").GetInt32());
            await Waits.UntilAsync(async () => await EffectiveAsync(client) == limit, TimeSpan.FromSeconds(30), $"the effective limit back at {limit}");
            await sampling.CancelAsync();
            await sampler;

            int throttles = throttledJobs.Sum(j => j.Throttled);
            // Only the clean batch's times say when its jobs held the limit (a throttled job's interval spans its waits).
            int peak = Intervals.MaxOverlap((await client.GetJobsAsync("clean")).Select(r => (r.StartedAt!.Value, r.FinishedAt!.Value)));
            List<int> trace;
            lock (effective)
            {
                trace = effective.Where((v, i) => i == 0 || v != effective[i - 1]).ToList();
            }

            Figures.Report(output, "limit-throttle", $"limit {limit}, downstream refusing more than 3: {throttles} throttles over {jobs} jobs (each 1 attempt), effective went down to {lowest} and back to {limit} with {jobs} clean jobs; effective over time {string.Join(" ", trace)}; peak of the clean batch in the limit {peak}");
            Assert.True(lowest < limit, $"the effective limit never went below {limit}: {string.Join(" ", trace)}");
            Assert.True(throttles > 0, "no job was throttled");
            Assert.All(throttledJobs, j => Assert.Equal(("Succeeded", 1), (j.Status, j.Attempts)));
            Assert.InRange(peak, 1, limit);
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    /// <summary>The batch with its delay jobs mapped to the limit "shared".</summary>
    private static string Limited(string batchJson) => batchJson[..^1] + ""","limits":{"delay":["shared"]}}""";

    private static async Task<int?> EffectiveAsync(BatchApi client)
    {
        using JsonDocument listed = JsonDocument.Parse(await client.Http.GetStringAsync("/api/limits"));
        JsonElement? shared = listed.RootElement.GetProperty("items").EnumerateArray().Cast<JsonElement?>().FirstOrDefault(i => i!.Value.GetProperty("name").GetString() == "shared");
        return shared is { } item && item.GetProperty("effective").ValueKind == JsonValueKind.Number ? item.GetProperty("effective").GetInt32() : null;
    }
}
