using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Signals;

namespace DurableJobs.Orchestration.Tests.Execution;

public sealed class LocalLanesTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheFirstChunkOfALane_StartsAtOnce()
    {
        var lanes = new LocalLanes(new InMemoryLaneHandover(), TimeProvider.System, Poll);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk("0.0", 0), 10, CancellationToken.None, CancellationToken.None).WaitAsync(Patience);

        Assert.True(turn.Admitted);
        Assert.Equal(4, turn.Slots.Slots);
    }

    [Fact]
    public async Task TheNextChunk_WaitsUntilTheOneBeforeStartedItsLastJob_ThenSharesItsSlots()
    {
        var lanes = new LocalLanes(new InMemoryLaneHandover(), TimeProvider.System, Poll);
        Task<LocalLanes.LaneTurn> second = lanes.EnterAsync(Chunk("0.0", 1), 10, CancellationToken.None, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "chunk 1 started before chunk 0 arrived");

        using LocalLanes.LaneTurn first = await lanes.EnterAsync(Chunk("0.0", 0), 2, CancellationToken.None, CancellationToken.None).WaitAsync(Patience);
        lanes.Started(first);
        await Task.Delay(100);
        Assert.False(second.IsCompleted, "chunk 1 started while chunk 0 still had a job to start");

        lanes.Started(first);
        using LocalLanes.LaneTurn next = await second.WaitAsync(Patience);

        Assert.True(next.Admitted);
        Assert.Same(first.Slots, next.Slots);
    }

    [Fact]
    public async Task TheNextChunk_StartsWhenTheHandoverSaysTheOneBeforeFinishedElsewhere_WithSlotsOfItsOwn()
    {
        var handover = new InMemoryLaneHandover();
        var lanes = new LocalLanes(handover, TimeProvider.System, Poll);
        Task<LocalLanes.LaneTurn> third = lanes.EnterAsync(Chunk("0.3", 2), 10, CancellationToken.None, CancellationToken.None);
        await Task.Delay(100);
        Assert.False(third.IsCompleted);

        await handover.MarkFinishedAsync("b", "0.3", 1);
        using LocalLanes.LaneTurn turn = await third.WaitAsync(Patience);

        Assert.True(turn.Admitted);
    }

    [Fact]
    public async Task AChunkStoppedWhileWaiting_IsNotAdmitted_SoItsJobsNeverStart()
    {
        var lanes = new LocalLanes(new InMemoryLaneHandover(), TimeProvider.System, Poll);
        using var stop = new CancellationTokenSource();
        Task<LocalLanes.LaneTurn> waiting = lanes.EnterAsync(Chunk("0.0", 5), 10, stop.Token, CancellationToken.None);

        await stop.CancelAsync();
        using LocalLanes.LaneTurn turn = await waiting.WaitAsync(Patience);

        Assert.False(turn.Admitted);
    }

    [Fact]
    public async Task LanesOfOtherBatchesAndParts_DoNotShareSlots()
    {
        var lanes = new LocalLanes(new InMemoryLaneHandover(), TimeProvider.System, Poll);

        using LocalLanes.LaneTurn a = await lanes.EnterAsync(Chunk("0.0", 0), 10, CancellationToken.None, CancellationToken.None);
        using LocalLanes.LaneTurn b = await lanes.EnterAsync(Chunk("20000.0", 0), 10, CancellationToken.None, CancellationToken.None);
        using LocalLanes.LaneTurn c = await lanes.EnterAsync(Chunk("0.0", 0) with { BatchId = "other" }, 10, CancellationToken.None, CancellationToken.None);

        Assert.NotSame(a.Slots, b.Slots);
        Assert.NotSame(a.Slots, c.Slots);
    }

    [Fact]
    public async Task AChunkFromBeforeLanes_HoldsItsOwnSlots_AndStartsAtOnce()
    {
        var lanes = new LocalLanes(new InMemoryLaneHandover(), TimeProvider.System, Poll);

        using LocalLanes.LaneTurn turn = await lanes.EnterAsync(Chunk(null, 0), 10, CancellationToken.None, CancellationToken.None).WaitAsync(Patience);

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
