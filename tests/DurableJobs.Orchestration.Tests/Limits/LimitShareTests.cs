using System.Text.Json;
using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Limits;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Orchestration.Tests.Limits;

public sealed class LimitShareTests
{
    [Theory]
    [InlineData(7, 3, new[] { 3 }, 4, 3)] // equal weights: one more for the first name
    [InlineData(8, 3, new[] { 3 }, 4, 4)]
    [InlineData(7, 3, new[] { 3, 3 }, 3, 2)] // three holders: 3 + 2 + 2
    [InlineData(8, 6, new[] { 3 }, 5, 3)] // two batches here against one there: 1 each, then 6 split 4 to 2
    [InlineData(4, 5, new[] { 1 }, 3, 1)] // priority 5 against 1 on a limit of 4: the low one keeps a permit
    [InlineData(10, 1, new[] { 15 }, 2, 8)] // 8 split 0.5 to 7.5: the tie goes to the first name
    [InlineData(2, 3, new[] { 3, 3 }, 1, 1)] // more holders than permits: one each, the row decides
    [InlineData(7, 0, new[] { 3 }, 4, 3)] // nothing waiting here counts as one default batch
    public void Shares_are_one_each_then_proportional_to_the_weights_and_add_up_to_the_limit(int max, int ownWeight, int[] otherWeights, int firstShare, int lastOtherShare)
    {
        // The holder "a" against others "b", "c", …: each computes the same split.
        var all = new[] { ownWeight }.Concat(otherWeights).Select((w, i) => KeyValuePair.Create(((char)('a' + i)).ToString(), w)).ToArray();
        int[] shares = all.Select(me => LimitGate.ShareOf(max, me.Key, me.Value, all.Where(o => o.Key != me.Key))).ToArray();
        Assert.Equal(firstShare, shares[0]);
        Assert.Equal(lastOtherShare, shares[^1]);
        Assert.Equal(Math.Max(max, all.Length), shares.Sum());
    }

    [Fact]
    public void With_no_one_else_waiting_the_share_is_unbounded()
    {
        Assert.Equal(int.MaxValue, LimitGate.ShareOf(7, "a", 9, []));
    }

    [Fact]
    public void A_lease_written_before_weights_reads_as_one_waiting_batch_of_the_default_priority()
    {
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        LimitLease old = JsonSerializer.Deserialize<LimitLease>("""{"p":2,"w":3,"x":"2026-12-01T12:00:00+00:00"}""", web)!;
        Assert.Equal((1, LimitTurns.DefaultPriority), (old.WaitingBatches, old.WaitingWeight));

        string idle = JsonSerializer.Serialize(new LimitLease(2, 0, DateTimeOffset.UnixEpoch), web);
        Assert.DoesNotContain("\"b\"", idle, StringComparison.Ordinal);
        Assert.DoesNotContain("\"g\"", idle, StringComparison.Ordinal);
        LimitLease waiting = JsonSerializer.Deserialize<LimitLease>(JsonSerializer.Serialize(new LimitLease(2, 3, DateTimeOffset.UnixEpoch, 4, 11), web), web)!;
        Assert.Equal((4, 11), (waiting.WaitingBatches, waiting.WaitingWeight));
    }

    [Fact]
    public async Task A_worker_with_two_batches_waiting_keeps_5_of_8_permits_against_3_for_one_with_a_single_batch()
    {
        var store = new InMemoryLimitStore();
        var settings = new LimitSettings { MaxConcurrent = 8 };
        var options = new LimitGateOptions { LeaseDuration = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(10), Linger = TimeSpan.FromMilliseconds(20) };
        await using var one = new LimitGate("payments", "w1", store, settings, options, TimeProvider.System, NullLogger.Instance);
        await using var two = new LimitGate("payments", "w2", store, settings, options, TimeProvider.System, NullLogger.Instance);
        using var end = new CancellationTokenSource();
        for (int i = 0; i < 8; i++)
        {
            await one.AcquireAsync("big", default).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        }

        var waiting = new List<Task>();
        for (int i = 0; i < 20; i++)
        {
            waiting.Add(one.AcquireAsync(new LimitClaim("big", null, null), end.Token).AsTask());
            waiting.Add(one.AcquireAsync(new LimitClaim("other", null, "acme"), end.Token).AsTask());
            waiting.Add(two.AcquireAsync(new LimitClaim("small", null, null), end.Token).AsTask());
        }

        // Each lease reports what waits behind it: the row then shows three waiting batches.
        LimitRow row = await Eventually(store, r => r.WaitingBatches(DateTimeOffset.UtcNow) == 3);
        Assert.Equal((2, 6), (row.Leases["w1"].WaitingBatches, row.Leases["w1"].WaitingWeight));
        Assert.Equal((1, 3), (row.Leases["w2"].WaitingBatches, row.Leases["w2"].WaitingWeight));

        // w1 may have written its lease before w2's was there: its share follows only from a round with the row that
        // began after both were written. Three more reads by w1 contain one that began, and whose share was set, after.
        long reads = one.Operations.Reads;
        DateTimeOffset learnt = DateTimeOffset.UtcNow.AddSeconds(20);
        while (one.Operations.Reads < reads + 3 && DateTimeOffset.UtcNow < learnt)
        {
            await Task.Delay(10);
        }

        // The eight jobs holding the limit end; their permits go by weight (one each, then 6 split by weight 4 to 2; an equal share per worker would be 4 and 4).
        for (int i = 0; i < 8; i++)
        {
            one.Release();
        }

        DateTimeOffset until = DateTimeOffset.UtcNow.AddSeconds(30);
        while ((one.InUse, two.InUse) != (5, 3) && DateTimeOffset.UtcNow < until)
        {
            await Task.Delay(20);
        }

        Assert.Equal((5, 3), (one.InUse, two.InUse));
        await Task.Delay(300); // and it stays so: no permit moves while the weights hold
        Assert.Equal((5, 3), (one.InUse, two.InUse));
        await end.CancelAsync();
        await Task.WhenAll(waiting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        for (int i = 0; i < 5; i++)
        {
            one.Release();
        }

        for (int i = 0; i < 3; i++)
        {
            two.Release();
        }
    }

    private static async Task<LimitRow> Eventually(InMemoryLimitStore store, Func<LimitRow, bool> condition)
    {
        DateTimeOffset until = DateTimeOffset.UtcNow.AddSeconds(20);
        while (true)
        {
            LimitRow? row = await store.ReadAsync("payments", default);
            if (row is not null && condition(row))
            {
                return row;
            }

            Assert.True(DateTimeOffset.UtcNow < until, "the row never showed it");
            await Task.Delay(20);
        }
    }
}
