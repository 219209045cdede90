using System.Threading.Channels;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DurableJobs.Orchestration.Tests.Execution;

/// <summary>
/// Coalescing of <see cref="JobProgressTracker"/> on a <see cref="FakeTimeProvider"/>: at most one store write per flush
/// interval for a whole chunk, holding each job's latest state; jobs shorter than the interval cost nothing; a row is
/// deleted only after its job's result is recorded.
/// </summary>
public sealed class JobProgressTrackerTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task AThousandReportsOfOneJobWithinASecond_AreOneWriteAfterTheSecond_HoldingTheLast()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore();
        await using JobProgressTracker tracker = Tracker(store, time);
        tracker.Started(Job(0), attempt: 1);
        for (int i = 1; i <= 1_000; i++)
        {
            tracker.Reported(0, i / 10.0, $"item {i}");
        }

        Assert.Empty(store.Writes);
        time.Advance(Second);
        IReadOnlyList<JobProgressRow> written = await store.NextWriteAsync();

        JobProgressRow row = Assert.Single(written);
        Assert.Equal((0, "job-0", false, 100.0, "item 1000", 1), (row.Index, row.JobId, row.Finished, row.Value, row.Message, row.Attempt));
        time.Advance(Second * 5);
        await tracker.FlushAsync();
        Assert.Single(store.Writes); // nothing changed since: nothing written
    }

    [Fact]
    public async Task ThreeHundredJobsReportingTenTimesASecondForThreeSeconds_AreThreeWrites_OnePerSecond()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore();
        await using JobProgressTracker tracker = Tracker(store, time);
        for (int job = 0; job < 300; job++)
        {
            tracker.Started(Job(job), attempt: 1);
        }

        for (int second = 1; second <= 3; second++)
        {
            for (int tenth = 0; tenth < 10; tenth++)
            {
                for (int job = 0; job < 300; job++)
                {
                    tracker.Reported(job, (second * 10) + tenth, null);
                }

                time.Advance(Second / 10);
            }

            IReadOnlyList<JobProgressRow> written = await store.NextWriteAsync();
            Assert.Equal(300, written.Count);
            Assert.All(written, row => Assert.Equal((second * 10) + 9, row.Value));
        }

        Assert.Equal(3, store.Writes.Count);
    }

    [Fact]
    public async Task AJobStartedAndEndedWithinTheSecond_IsNeverWritten_AndNoDeleteFollowsItsResult()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore();
        await using (JobProgressTracker tracker = Tracker(store, time))
        {
            tracker.Started(Job(7), attempt: 1);
            tracker.Reported(7, 50, "half");
            tracker.Ended(7);
            time.Advance(Second);
            await tracker.FlushAsync();
            tracker.Recorded([7]);
        }

        Assert.Empty(store.Writes);
    }

    [Fact]
    public async Task AWrittenJob_IsDeletedAtTheFlushAfterItsResultIsRecorded_NotWhenItEnds()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore();
        await using JobProgressTracker tracker = Tracker(store, time);
        tracker.Started(Job(3), attempt: 2);
        time.Advance(Second);
        Assert.False(Assert.Single(await store.NextWriteAsync()).Finished);

        tracker.Ended(3);
        await tracker.FlushAsync();
        Assert.Single(store.Writes); // ended, result not stored yet: the row (and its checkpoint) stays

        tracker.Recorded([3]);
        time.Advance(Second);
        JobProgressRow deleted = Assert.Single(await store.NextWriteAsync());
        Assert.Equal((3, true), (deleted.Index, deleted.Finished));
    }

    [Fact]
    public async Task ARowLeftByAnEarlierDelivery_IsDeletedOnceTheJobIsRecorded_EvenIfThisDeliveryNeverWroteIt()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore();
        await using (JobProgressTracker tracker = Tracker(store, time))
        {
            tracker.Stored([5]);
            tracker.Started(Job(5), attempt: 1);
            tracker.Ended(5);
            tracker.Recorded([5]);
        }

        JobProgressRow deleted = Assert.Single(Assert.Single(store.Writes));
        Assert.Equal((5, true), (deleted.Index, deleted.Finished));
    }

    [Fact]
    public async Task AFailedWrite_IsRetriedAtTheNextFlush_WithTheLatestState()
    {
        var time = new FakeTimeProvider(Start);
        var store = new RecordingStore { FailNext = true };
        await using JobProgressTracker tracker = Tracker(store, time);
        tracker.Started(Job(1), attempt: 1);
        tracker.Reported(1, 10, null);
        time.Advance(Second);
        await store.NextWriteAsync(); // failed
        tracker.Reported(1, 20, null);
        time.Advance(Second);

        Assert.Equal(20, Assert.Single(await store.NextWriteAsync()).Value);
    }

    private static ScheduledJob Job(int index) => new(index, $"job-{index}", "delay", null);

    private static JobProgressTracker Tracker(IJobProgressStore store, TimeProvider time) =>
        new(store, "batch", "worker-1", time, Second, NullLogger.Instance);

    private sealed class RecordingStore : IJobProgressStore
    {
        private readonly Channel<IReadOnlyList<JobProgressRow>> writes = Channel.CreateUnbounded<IReadOnlyList<JobProgressRow>>();

        public List<IReadOnlyList<JobProgressRow>> Writes { get; } = [];

        public bool FailNext { get; set; }

        public Task WriteAsync(string batchId, IReadOnlyList<JobProgressRow> rows, CancellationToken cancellationToken = default)
        {
            lock (Writes)
            {
                Writes.Add(rows);
            }

            writes.Writer.TryWrite(rows);
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("storage unavailable");
            }

            return Task.CompletedTask;
        }

        public async Task<IReadOnlyList<JobProgressRow>> NextWriteAsync() => await writes.Reader.ReadAsync().AsTask().WaitAsync(Patience);

        public Task SaveCheckpointAsync(string batchId, int index, string checkpointJson, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<IReadOnlyDictionary<int, string?>> ReadCheckpointsAsync(string batchId, int start, int count, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyDictionary<int, string?>>(new Dictionary<int, string?>());

        public Task<IReadOnlyList<JobResult>> ReadRunningAsync(string batchId, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<JobResult>>([]);
    }
}
