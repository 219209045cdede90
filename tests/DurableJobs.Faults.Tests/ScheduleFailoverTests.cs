using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DurableJobs.Faults.Tests;

/// <summary>A per-second schedule on two worker processes, the one running it killed with SIGKILL.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ScheduleFailoverTests(EmulatorFixture storage, ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_the_worker_running_a_per_second_schedule_loses_no_occurrence_and_starts_none_twice()
    {
        // One partition: the schedule's orchestration runs on its owner, which is the one killed.
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsSchedule", output, new Dictionary<string, string> { ["DurableJobs__PartitionCount"] = "1" });
        try
        {
            HostProcess one = await cluster.StartWorkerAsync();
            HostProcess two = await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            var leases = new PartitionLeases(storage.ConnectionString, cluster.HubName);

            using HttpResponseMessage created = await client.Http.PutAsync("/api/schedules/failover", new StringContent(
                """{"cron":"* * * * * *","overlap":"allow","template":{"jobs":[{"type":"echo","payload":1}]}}""", Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
            DateTime createdAt = DateTime.UtcNow;
            await Waits.UntilAsync(async () => (await ScheduledAsync(client)).Count >= 3, TimeSpan.FromSeconds(30), "three runs");

            string? owner = Assert.Single(await leases.OwnersAsync()).Value;
            HostProcess victim = owner == one.WorkerName ? one : two;
            HostProcess survivor = victim == one ? two : one;
            victim.KillHard();
            DateTime killedAt = DateTime.UtcNow;
            var sinceKill = Stopwatch.StartNew();
            await Waits.UntilAsync(async () => (await leases.OwnersAsync()).Values.All(o => o == survivor.WorkerName), TimeSpan.FromSeconds(60), "the partition moving to the survivor");
            TimeSpan moved = sinceKill.Elapsed;
            output.WriteLine($"partition moved {moved.TotalSeconds:0.0} s after the kill");

            // Until the survivor runs occurrences that came after the partition moved.
            DateTime movedAt = killedAt + moved;
            await Waits.UntilAsync(async () => (await ScheduledAsync(client)).Count(o => o > movedAt.AddSeconds(1)) >= 2, TimeSpan.FromSeconds(60), "runs after the failover");
            output.WriteLine($"running again {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            using HttpResponseMessage deleted = await client.Http.DeleteAsync("/api/schedules/failover");
            Assert.Equal(System.Net.HttpStatusCode.NoContent, deleted.StatusCode);

            List<DateTime> occurrences = (await ScheduledAsync(client)).Order().ToList();
            output.WriteLine($"{occurrences.Count} batches from {occurrences[0]:HH:mm:ss} to {occurrences[^1]:HH:mm:ss}; killed at {killedAt:HH:mm:ss.fff}");

            // Every second from the first run to the last has its batch, once: the ones due while no worker ran
            // started late (within the 60 s grace period), none twice (a batch id per occurrence).
            Assert.Equal(occurrences.Count, occurrences.Distinct().Count());
            List<DateTime> gaps = occurrences.Zip(occurrences.Skip(1)).Where(p => p.Second - p.First != TimeSpan.FromSeconds(1)).Select(p => p.First).ToList();
            Assert.True(gaps.Count == 0, $"gaps after {string.Join(", ", gaps.Select(g => g.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}");
            Assert.True(occurrences[0] <= createdAt.AddSeconds(3), $"first run {occurrences[0]:O}, created {createdAt:O}");
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    private static async Task<List<DateTime>> ScheduledAsync(BatchApi client) =>
        (await client.ListIdsAsync())
            .Where(id => id.StartsWith("failover-", StringComparison.Ordinal))
            .Select(id => DateTime.ParseExact(id["failover-".Length..], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal))
            .ToList();
}
