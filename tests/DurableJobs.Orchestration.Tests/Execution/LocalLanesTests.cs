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

    [Fact]
    public async Task AChunkWhosePredecessorRunsInAnotherProcess_IsHandedTheLaneWhenThatProcessRecordsItFinished_NotBefore_AndNotDeferred()
    {
        // Before: deferred after the grace, then granted again by the orchestrator once the predecessor's completion
        // reached it — two round trips with the lane's slots idle (a median 6.7 s on the 3-worker limits benchmark).
        var signals = new Signals.InMemoryBatchCancellationSignals();
        using Signals.IBatchCancellationWatch watch = await signals.WatchAsync("b");
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter, Patience, maxHandoverWaits: 4);
        Task<LocalLanes.LaneTurn> waiting = lanes.EnterAsync(Chunk("0.0", 3), 10, CancellationToken.None, (through, wait) => watch.WhenLaneFinishedAsync("k", "0.0", through, wait));

        await signals.LaneFinishedAsync("b", "k", "0.0", 1); // an older record: chunk 2 still runs elsewhere
        await signals.LaneFinishedAsync("b", "other-submission", "0.0", 7);
        await Task.Delay(DeferAfter * 2);
        Assert.False(waiting.IsCompleted, "chunk 3 started (or gave up) while chunk 2 ran in another process");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await signals.LaneFinishedAsync("b", "k", "0.0", 2);
        using LocalLanes.LaneTurn turn = await waiting.WaitAsync(Patience);

        Assert.True(turn.Admitted && turn.HandedOver && !turn.Deferred);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.Equal(4, turn.Slots.Slots);
    }

    [Fact]
    public async Task AChunkWhosePredecessorFinishedElsewhereBeforeItArrived_StartsAtOnce()
    {
        var signals = new Signals.InMemoryBatchCancellationSignals();
        using Signals.IBatchCancellationWatch watch = await signals.WatchAsync("b");
        await signals.LaneFinishedAsync("b", "k", "0.0", 4);
        var lanes = new LocalLanes(TimeProvider.System, Patience, Patience, maxHandoverWaits: 4);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk("0.0", 5), 10, CancellationToken.None, (through, wait) => watch.WhenLaneFinishedAsync("k", "0.0", through, wait))
            .WaitAsync(TimeSpan.FromSeconds(2));

        Assert.True(turn.HandedOver);
    }

    [Fact]
    public async Task AChunkWaitingForAHandover_IsDeferredAfterTheGraceAndTheWait_AndChunksBeyondTheWaitBudgetAfterTheGraceAlone()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter, TimeSpan.FromSeconds(1), maxHandoverWaits: 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Func<int, CancellationToken, Task> never = (_, wait) => Task.Delay(Timeout.Infinite, wait);

        Task<LocalLanes.LaneTurn> first = lanes.EnterAsync(Chunk("0.0", 3), 10, CancellationToken.None, never);
        Task<LocalLanes.LaneTurn> second = lanes.EnterAsync(Chunk("0.1", 3), 10, CancellationToken.None, never);
        using LocalLanes.LaneTurn overBudget = await second.WaitAsync(Patience);
        TimeSpan secondAfter = clock.Elapsed;
        using LocalLanes.LaneTurn waited = await first.WaitAsync(Patience);

        Assert.True(overBudget.Deferred && waited.Deferred);
        Assert.InRange(secondAfter, DeferAfter - TimeSpan.FromMilliseconds(20), DeferAfter + TimeSpan.FromMilliseconds(700));
        Assert.InRange(clock.Elapsed, DeferAfter + TimeSpan.FromSeconds(1) - TimeSpan.FromMilliseconds(20), Patience);
    }

    [Fact]
    public async Task AHandoverWaitThatThrowsAsItStarts_GivesItsReservationBack_SoTheNextChunkMayWait()
    {
        // The review of b4f6844 found its derived reservation (a wait started) missed this: a throw from starting the
        // wait left the only reservation taken for good, and every later chunk was deferred after the grace alone.
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter, Patience, maxHandoverWaits: 1);
        Func<int, CancellationToken, Task> broken = (_, _) => throw new ObjectDisposedException("watch");
        int asked = 0;
        Func<int, CancellationToken, Task> finished = (_, _) =>
        {
            Interlocked.Increment(ref asked);
            return Task.CompletedTask;
        };

        await Assert.ThrowsAsync<ObjectDisposedException>(() => lanes.EnterAsync(Chunk("0.0", 3), 10, CancellationToken.None, broken).WaitAsync(Patience));
        using LocalLanes.LaneTurn next = await lanes.EnterAsync(Chunk("0.1", 3), 10, CancellationToken.None, finished).WaitAsync(Patience);

        Assert.Equal(1, asked);
        Assert.True(next.HandedOver);
    }

    [Fact]
    public async Task TheLastChunkOfALaneToLeaveAProcess_ReportsTheSequenceTheLaneFinishedThrough_UnlessAChunkThereEndedAbnormally()
    {
        var lanes = new LocalLanes(TimeProvider.System, DeferAfter);
        LocalLanes.LaneTurn first = await lanes.EnterAsync(Chunk("0.0", 0), 1, CancellationToken.None);
        lanes.Started(first);
        LocalLanes.LaneTurn second = await lanes.EnterAsync(Chunk("0.0", 1), 1, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(second);

        Assert.Null(first.Leave()); // chunk 1 of the lane is still here
        Assert.Equal(1, second.Leave());
        Assert.Null(second.Leave()); // once

        // A chunk that left with a job it had not started (it runs again): the lane is not reported from here any more.
        LocalLanes.LaneTurn broken = await lanes.EnterAsync(Chunk("0.0", 2), 2, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(broken);
        Assert.Null(broken.Leave());
        LocalLanes.LaneTurn after = await lanes.EnterAsync(Chunk("0.0", 3) with { Ready = true }, 1, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(after);
        Assert.Null(after.Leave());

        // An admitted chunk that ends by an exception (disposed without Leave: it is retried) breaks its lane here too.
        LocalLanes.LaneTurn other = await lanes.EnterAsync(Chunk("0.1", 0), 1, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(other);
        other.Dispose();
        LocalLanes.LaneTurn next = await lanes.EnterAsync(Chunk("0.1", 1), 1, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(next);
        Assert.Null(next.Leave());
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
