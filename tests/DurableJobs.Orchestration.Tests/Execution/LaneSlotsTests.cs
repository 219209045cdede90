using CsCheck;
using DurableJobs.Orchestration.Execution;
using Xunit.Abstractions;

namespace DurableJobs.Orchestration.Tests.Execution;

public sealed class LaneSlotsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeSlots_TheFourthJobWaits_UntilOneIsReleased()
    {
        var slots = new LaneSlots(3);
        await slots.AcquireAsync(0, CancellationToken.None);
        await slots.AcquireAsync(0, CancellationToken.None);
        await slots.AcquireAsync(0, CancellationToken.None);

        Task fourth = slots.AcquireAsync(1, CancellationToken.None);
        await Task.Delay(20);
        Assert.False(fourth.IsCompleted);

        slots.Release();
        await fourth.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AFreedSlot_GoesToTheOlderChunk_EvenIfItsJobQueuedLast()
    {
        var slots = new LaneSlots(1);
        await slots.AcquireAsync(0, CancellationToken.None);
        Task newer = slots.AcquireAsync(1, CancellationToken.None);
        Task older = slots.AcquireAsync(0, CancellationToken.None);

        slots.Release();
        await older.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(newer.IsCompleted);

        slots.Release();
        await newer.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AWaiterWhoseTokenFired_HoldsNoSlot_AndTheSlotGoesToTheNext()
    {
        var slots = new LaneSlots(1);
        await slots.AcquireAsync(0, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Task stopped = slots.AcquireAsync(0, stop.Token);
        Task next = slots.AcquireAsync(1, CancellationToken.None);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopped);
        slots.Release();

        await next.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// Many jobs of three chunks compete for a lane's slots with random hold times and random cancels: at no instant do
    /// more jobs hold a slot than the lane has, and every job that was not cancelled gets one.
    /// </summary>
    [Fact]
    public void AnyJobsAndCancels_NeverMoreHoldersThanSlots_EveryUncancelledJobGetsASlot()
    {
        Gen.Select(Gen.Int[1, 6], Gen.Select(Gen.Int[0, 2], Gen.Int[0, 3], Gen.Bool).Array[1, 40]).Sample(
            (slotCount, jobs) =>
            {
                var slots = new LaneSlots(slotCount);
                int holding = 0, most = 0, served = 0;
                var gate = new Lock();
                Task[] runs = [.. jobs.Select(async job =>
                {
                    (int sequence, int holdMs, bool cancelled) = job;
                    using var stop = new CancellationTokenSource();
                    if (cancelled)
                    {
                        stop.CancelAfter(1);
                    }

                    try
                    {
                        await slots.AcquireAsync(sequence, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    lock (gate)
                    {
                        holding++;
                        served++;
                        most = Math.Max(most, holding);
                    }

                    await Task.Delay(holdMs);
                    lock (gate)
                    {
                        holding--;
                    }

                    slots.Release();
                })];

                Assert.True(Task.WaitAll(runs, TimeSpan.FromSeconds(30)), "a job never got its slot");
                Assert.True(most <= slotCount, $"{most} jobs held slots of a lane of {slotCount}");
                Assert.True(served >= jobs.Count(j => !j.Item3), $"{served} served, {jobs.Count(j => !j.Item3)} were never cancelled");
            },
            iter: 200,
            threads: 1,
            writeLine: output.WriteLine);
    }
}
