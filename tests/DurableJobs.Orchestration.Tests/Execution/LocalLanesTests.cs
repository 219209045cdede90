using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Tests.Execution;

public sealed class LocalLanesTests
{
    private static readonly TimeSpan DeferAfter = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheFirstChunkOfALane_StartsAtOnce()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk("0.0", 0), 10, CancellationToken.None).WaitAsync(Patience);

        Assert.True(turn.Admitted);
        Assert.Equal(4, turn.Slots.Slots);
    }

    [Fact]
    public async Task TheNextChunk_WaitsUntilTheOneBeforeStartedItsLastJob_ThenSharesItsSlots()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);
        Task<LocalLanes.LaneTurn> second = lanes.EnterAsync(Chunk("0.0", 1), 10, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(second.IsCompleted, "chunk 1 started before chunk 0 arrived");

        using LocalLanes.LaneTurn first = await lanes.EnterAsync(Chunk("0.0", 0), 2, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(first);
        await Task.Delay(DeferAfter * 2);
        Assert.False(second.IsCompleted, "chunk 1 started (or gave up) while chunk 0, running here, still had a job to start");

        lanes.Started(first);
        using LocalLanes.LaneTurn next = await second.WaitAsync(Patience);

        Assert.True(next.Admitted);
        Assert.Same(first.Slots, next.Slots);
    }

    [Fact]
    public async Task AChunkWhosePredecessorIsNotHere_IsDeferredAfterTheGrace_NotWaitingForever()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk("0.3", 2), 10, CancellationToken.None).WaitAsync(Patience);

        Assert.True(turn.Deferred);
        Assert.False(turn.Admitted);
        Assert.InRange(clock.Elapsed, DeferAfter - TimeSpan.FromMilliseconds(20), Patience);
    }

    [Fact]
    public async Task AChunkWhosePredecessorAlreadyFinishedHere_StartsAtOnce_NotAfterTheGrace()
    {
        // Short chunks (the first ones of a batch: one job per slot) often finish before the orchestrator's grant of
        // the next-but-one arrives; that chunk must not sit out the grace and a deferral round trip.
        var lanes = new LocalLanes(TimeProvider.System, Patience);
        using (LocalLanes.LaneTurn first = await lanes.EnterAsync(Chunk("0.0", 0), 1, CancellationToken.None).WaitAsync(Patience))
        {
            lanes.Started(first);
        }

        using LocalLanes.LaneTurn next = await lanes.EnterAsync(Chunk("0.0", 1), 10, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2));

        Assert.True(next.Admitted);
    }

    [Fact]
    public async Task ALaneIdleLongerThanItsRetention_IsForgotten_SoItsNextChunkIsDeferred()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var lanes = new LocalLanes(clock, TimeSpan.Zero);
        using (LocalLanes.LaneTurn first = await lanes.EnterAsync(Chunk("0.0", 0), 1, CancellationToken.None))
        {
            lanes.Started(first);
        }

        clock.Advance(LocalLanes.IdleLaneRetention + TimeSpan.FromSeconds(1));
        using LocalLanes.LaneTurn other = await lanes.EnterAsync(Chunk("0.0", 0) with { BatchId = "other" }, 1, CancellationToken.None);
        using LocalLanes.LaneTurn next = await lanes.EnterAsync(Chunk("0.0", 1), 10, CancellationToken.None).WaitAsync(Patience);

        Assert.True(next.Deferred);
        Assert.Equal(2, lanes.LaneCountForTests);
    }

    [Fact]
    public async Task AReadyChunk_StartsAtOnce_WhateverIsHere()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk("0.3", 7) with { Ready = true }, 10, CancellationToken.None).WaitAsync(TimeSpan.FromMilliseconds(200));

        Assert.True(turn.Admitted);
    }

    [Fact]
    public async Task AChunkStoppedWhileWaiting_IsNeitherAdmittedNorDeferred_SoItsJobsAreRecordedStopped()
    {
        var lanes = new LocalLanes(TimeProvider.System, Patience);
        using var stop = new CancellationTokenSource();
        Task<LocalLanes.LaneTurn> waiting = lanes.EnterAsync(Chunk("0.0", 5), 10, stop.Token);

        await stop.CancelAsync();
        using LocalLanes.LaneTurn turn = await waiting.WaitAsync(Patience);

        Assert.False(turn.Admitted);
        Assert.False(turn.Deferred);
    }

    [Fact]
    public async Task LanesOfOtherBatchesAndParts_DoNotShareSlots()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);

        using LocalLanes.LaneTurn a = await lanes.EnterAsync(Chunk("0.0", 0), 10, CancellationToken.None);
        using LocalLanes.LaneTurn b = await lanes.EnterAsync(Chunk("20000.0", 0), 10, CancellationToken.None);
        using LocalLanes.LaneTurn c = await lanes.EnterAsync(Chunk("0.0", 0) with { BatchId = "other" }, 10, CancellationToken.None);

        Assert.NotSame(a.Slots, b.Slots);
        Assert.NotSame(a.Slots, c.Slots);
    }

    [Fact]
    public async Task AChunkFromBeforeLanes_HoldsItsOwnSlots_AndStartsAtOnce()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk(null, 0), 10, CancellationToken.None).WaitAsync(Patience);

        Assert.True(turn.Admitted);
        Assert.Equal(4, turn.Slots.Slots);
    }

    private static JobChunk Chunk(string? lane, int sequence) => new()
    {
        BatchId = "b",
        JobsKey = "k",
        Start = sequence * 10,
        Count = 10,
        Parallelism = 4,
        Lane = lane,
        Sequence = sequence,
        DeadlineUtc = DateTime.UtcNow.AddMinutes(5),
    };
}
