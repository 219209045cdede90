using Azure.Data.Tables;
using DurableJobs.Core.Limits;
using DurableJobs.Engine.Limits;
using DurableJobs.Orchestration.Limits;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Orchestration.Tests.Limits;

/// <summary>
/// The adaptive effective concurrency of a limit (AIMD): throttles cut it, clean completions grow it back, all through
/// the row. The clock of the cut and its cool-down is a <see cref="FakeTimeProvider"/> (leases do not expire on it);
/// the gates' background rounds run in real time, so the tests wait (boundedly) for the row to show each change.
/// </summary>
public sealed class LimitGateAdaptiveTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly LimitGateOptions Fast = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(30),
        PollInterval = TimeSpan.FromMilliseconds(10),
        Linger = TimeSpan.FromMilliseconds(20),
        ThrottleCooldown = TimeSpan.FromSeconds(1),
    };

    private static LimitGate Gate(ILimitStore store, string holder, TimeProvider time, int max) =>
        new("payments", holder, store, new LimitSettings { MaxConcurrent = max }, Fast, time, NullLogger.Instance);

    [Fact]
    public async Task A_throttle_halves_an_effective_limit_of_8_to_4_and_the_other_worker_grants_under_4()
    {
        var store = new InMemoryLimitStore();
        var time = new FakeTimeProvider(Start);
        await using LimitGate one = Gate(store, "w1", time, 8);
        await using LimitGate two = Gate(store, "w2", time, 8);
        await one.AcquireAsync("b", default);
        one.Release();
        one.Throttled(time.GetUtcNow());

        LimitRow row = await RowAsync(store, r => r.Effective == 4, "a cut to 4");
        Assert.Equal((4, Start), (row.EffectiveConcurrency!.Value, row.CutAt!.Value));
        // The first worker's idle permit moves to the second once it sees it wait: then 4 in all, not 8.
        Assert.Equal(4, await GrantedAsync(two, 8, TimeSpan.FromSeconds(3)));
        Assert.Equal(4, two.Effective);
    }

    [Fact]
    public async Task Five_throttles_within_the_1_s_cool_down_cut_8_once_to_4_and_one_after_it_cuts_to_2()
    {
        var store = new InMemoryLimitStore();
        var time = new FakeTimeProvider(Start);
        await using LimitGate gate = Gate(store, "w1", time, 8);
        await gate.AcquireAsync("b", default);
        gate.Throttled(time.GetUtcNow());
        await RowAsync(store, r => r.Effective == 4, "the first cut");

        // The rest of the same overload: jobs granted after the cut, but within its cool-down.
        for (int i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(150));
            gate.Throttled(time.GetUtcNow());
            await RoundsAsync(gate, 1);
        }

        Assert.Equal(4, (await store.ReadAsync("payments", default))!.Effective);

        // Past the cool-down, a throttle from a job granted before the cut is still that overload's: no cut.
        time.Advance(TimeSpan.FromSeconds(1));
        gate.Throttled(Start - TimeSpan.FromMilliseconds(1));
        await RoundsAsync(gate, 1);
        Assert.Equal(4, (await store.ReadAsync("payments", default))!.Effective);

        // A job granted after the cool-down and throttled: a new overload, cut again.
        gate.Throttled(time.GetUtcNow());
        LimitRow row = await RowAsync(store, r => r.Effective == 2, "the second cut");
        Assert.Equal(Start + TimeSpan.FromSeconds(1.75), row.CutAt);
        gate.Release();
    }

    [Fact]
    public async Task Clean_completions_grow_a_limit_cut_to_4_back_by_1_per_window_reaching_8_after_22_and_never_above()
    {
        var store = new InMemoryLimitStore();
        var time = new FakeTimeProvider(Start);
        await using LimitGate gate = Gate(store, "w1", time, 8);
        await gate.AcquireAsync("b", default);
        gate.Release();
        gate.Throttled(time.GetUtcNow());
        await RowAsync(store, r => r.Effective == 4, "the cut");

        // +1 per window of clean completions as large as the effective value: 4 at 4, 5 more at 5, 6 at 6, 7 at 7 = 22.
        var seen = new List<int>();
        int expected = 4, window = 0;
        for (int done = 1; done <= 40; done++)
        {
            await gate.AcquireAsync("b", default);
            gate.Succeeded();
            gate.Release();
            if (expected < 8 && ++window == expected)
            {
                expected++;
                window = 0;
                LimitRow row = await RowAsync(store, r => r.EffectiveConcurrency >= expected, $"the step to {expected} after {done} clean completions");
                seen.Add(row.EffectiveConcurrency!.Value);
                if (expected == 8)
                {
                    Assert.Equal(22, done);
                }
            }
        }

        await Task.Delay(200);
        LimitRow end = (await store.ReadAsync("payments", default))!;
        Assert.Equal([5, 6, 7, 8], seen);
        Assert.Equal((8, null, 0), (end.EffectiveConcurrency!.Value, end.Effective, end.Clean));
        Assert.Equal(8, await GrantedAsync(gate, 9, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task After_a_cut_from_8_to_4_with_8_jobs_running_no_job_is_granted_until_fewer_than_4_run_and_then_never_more_than_4()
    {
        var store = new InMemoryLimitStore();
        var time = new FakeTimeProvider(Start);
        await using LimitGate one = Gate(store, "w1", time, 8);
        await using LimitGate two = Gate(store, "w2", time, 8);
        for (int i = 0; i < 4; i++)
        {
            await one.AcquireAsync("b", default);
            await two.AcquireAsync("b", default).AsTask().WaitAsync(Patience);
        }

        one.Throttled(time.GetUtcNow());
        await RowAsync(store, r => r.Effective == 4, "the cut");

        int running = 8, peakAfterGrant = 0, granted = 0;
        var gate = new object();
        // All waiting on one worker: the other waits for nothing, so no equal share holds them back; only the cut does.
        Task[] waiting = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            await one.AcquireAsync("b", default);
            lock (gate)
            {
                running++;
                granted++;
                peakAfterGrant = Math.Max(peakAfterGrant, running);
            }

            await Task.Delay(20);
            lock (gate)
            {
                running--;
            }

            one.Release();
        })).ToArray();

        await Task.Delay(300);
        Assert.Equal(0, Volatile.Read(ref granted));

        // The 8 that ran through the cut end one by one: the waiting jobs start only as the total falls under 4.
        for (int i = 0; i < 8; i++)
        {
            lock (gate)
            {
                running--;
            }

            (i % 2 == 0 ? one : two).Release();
            await Task.Delay(50);
        }

        await Task.WhenAll(waiting).WaitAsync(Patience);
        Assert.Equal(12, granted);
        Assert.InRange(peakAfterGrant, 1, 4);
        LimitRow row = (await store.ReadAsync("payments", default))!;
        Assert.InRange(row.Leases.Values.Sum(l => l.Permits), 0, 4);
    }

    [Fact]
    public async Task A_row_stored_before_adaptive_limits_reads_as_uncut_and_grants_all_5_permits()
    {
        var store = new InMemoryLimitStore();
        var time = new FakeTimeProvider(Start);
        var old = new TableEntity("limit", "payments") { ["MaxConcurrent"] = 5, ["Leases"] = "{}", ["Tokens"] = 0.0, ["TokensAt"] = Start };
        LimitRow read = TableLimitStore.FromEntity(old);
        Assert.Equal((null, null, 0, 5), (read.Effective, read.CutAt, read.Clean, read.EffectiveConcurrency));
        Assert.False(TableLimitStore.ToEntity(read).ContainsKey("Effective"));

        await store.TryWriteAsync(read with { ETag = null }, default);
        await using LimitGate gate = Gate(store, "w1", time, 5);
        Assert.Equal(5, await GrantedAsync(gate, 6, TimeSpan.FromSeconds(3)));
        Assert.Equal(5, gate.Effective);
    }

    [Fact]
    public void A_cut_row_round_trips_through_its_table_entity()
    {
        var row = new LimitRow { Name = "payments", Settings = new LimitSettings { MaxConcurrent = 8 }, Effective = 3, CutAt = Start, Clean = 2, TokensAt = Start };
        LimitRow back = TableLimitStore.FromEntity(TableLimitStore.ToEntity(row));
        Assert.Equal((3, Start, 2, 3), (back.Effective, back.CutAt, back.Clean, back.EffectiveConcurrency));
    }

    /// <summary>How many of <paramref name="tries"/> acquisitions were granted within <paramref name="wait"/>; the rest are cancelled.</summary>
    private static async Task<int> GrantedAsync(LimitGate gate, int tries, TimeSpan wait)
    {
        using var cancel = new CancellationTokenSource();
        Task[] attempts = Enumerable.Range(0, tries).Select(_ => gate.AcquireAsync("probe", cancel.Token).AsTask()).ToArray();
        try
        {
            await Task.WhenAll(attempts).WaitAsync(wait);
        }
        catch (TimeoutException)
        {
        }

        await cancel.CancelAsync();
        int granted = attempts.Count(a => a.IsCompletedSuccessfully);
        for (int i = 0; i < granted; i++)
        {
            gate.Release();
        }

        return granted;
    }

    /// <summary>
    /// Waits until the gate has read its row <paramref name="count"/> more times: a round woken by a report counts it (its
    /// reads are counted before it takes the reports), so one round has seen what was reported before.
    /// </summary>
    private static async Task RoundsAsync(LimitGate gate, int count)
    {
        long until = gate.Operations.Reads + count;
        DateTime giveUp = DateTime.UtcNow + Patience;
        while (gate.Operations.Reads < until)
        {
            Assert.True(DateTime.UtcNow < giveUp, $"the gate did not read its row {count} times within {Patience.TotalSeconds:0} s");
            await Task.Delay(5);
        }
    }

    private static async Task<LimitRow> RowAsync(InMemoryLimitStore store, Func<LimitRow, bool> until, string what)
    {
        DateTime giveUp = DateTime.UtcNow + Patience;
        while (true)
        {
            if (await store.ReadAsync("payments", default) is { } row && until(row))
            {
                return row;
            }

            if (DateTime.UtcNow > giveUp)
            {
                LimitRow? last = await store.ReadAsync("payments", default);
                throw new Xunit.Sdk.XunitException($"No {what} within {Patience.TotalSeconds:0} s: effective {last?.Effective}, clean {last?.Clean}, cut at {last?.CutAt:O}");
            }

            await Task.Delay(10);
        }
    }
}
