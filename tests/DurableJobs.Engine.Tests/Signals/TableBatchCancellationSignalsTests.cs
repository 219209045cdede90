using System.Diagnostics;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using DurableJobs.Engine.Signals;
using DurableJobs.Orchestration.Signals;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests.Signals;

[Collection(EmulatorCollection.Name)]
public sealed class TableBatchCancellationSignalsTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_worker_watching_30_batches_polls_them_in_2_queries_a_round_and_sees_exactly_the_two_cancelled_by_another_process()
    {
        // Before: a point read per watched batch and round, 30 requests every interval for a process running 30 batches.
        string tableName = "Signals" + Guid.NewGuid().ToString("N")[..10];
        var requests = new RequestCounter();
        var options = new TableClientOptions();
        options.AddPolicy(requests, HttpPipelinePosition.PerCall);
        await using var worker = new TableBatchCancellationSignals(new TableClient(fixture.Emulator.ConnectionString, tableName, options), TimeSpan.FromMilliseconds(250), NullLogger<TableBatchCancellationSignals>.Instance);
        await using var client = new TableBatchCancellationSignals(new TableClient(fixture.Emulator.ConnectionString, tableName), TimeSpan.FromMilliseconds(250), NullLogger<TableBatchCancellationSignals>.Instance);

        // Ids a filter must quote: an apostrophe, and one that is a prefix of another.
        string[] ids = [.. Enumerable.Range(0, 28).Select(i => $"batch-{i}"), "o'brien", "batch-1x"];
        var watches = new List<IBatchCancellationWatch>();
        foreach (string id in ids)
        {
            watches.Add(await worker.WatchAsync(id));
        }

        try
        {
            await Task.Delay(300); // the poll loop is running
            requests.Reset();
            var window = Stopwatch.StartNew();
            await Task.Delay(2_000);
            int perWindow = requests.Count;
            output.WriteLine($"{perWindow} requests in {window.Elapsed.TotalSeconds:F1} s of polling 30 batches every 250 ms");
            Assert.InRange(perWindow, 1, 2 * ((int)(window.Elapsed.TotalMilliseconds / 250) + 1));

            await client.SignalCancelAsync("o'brien");
            await client.SignalCancelAsync("batch-1");
            var clock = Stopwatch.StartNew();
            while (!(watches[28].Token.IsCancellationRequested && watches[1].Token.IsCancellationRequested) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }

            await Task.Delay(600); // two more rounds: nothing else fires
            string[] cancelled = ids.Where((_, i) => watches[i].Token.IsCancellationRequested).ToArray();
            Assert.Equal(["batch-1", "o'brien"], cancelled.Order(StringComparer.Ordinal));
        }
        finally
        {
            watches.ForEach(w => w.Dispose());
        }
    }

    [Fact]
    public async Task A_lane_recorded_finished_by_one_worker_reaches_a_chunk_waiting_for_it_in_another_within_a_second_and_only_for_its_submission()
    {
        string tableName = "Lanes" + Guid.NewGuid().ToString("N")[..10];
        await using var waiting = new TableBatchCancellationSignals(new TableClient(fixture.Emulator.ConnectionString, tableName), TimeSpan.FromSeconds(5), NullLogger<TableBatchCancellationSignals>.Instance);
        await using var finishing = new TableBatchCancellationSignals(new TableClient(fixture.Emulator.ConnectionString, tableName), TimeSpan.FromSeconds(5), NullLogger<TableBatchCancellationSignals>.Instance);
        using IBatchCancellationWatch watch = await waiting.WatchAsync("b1");

        // A 5 s cancel poll: a chunk waiting for a lane polls faster, so the handover does not wait for the next round.
        Task handedOver = watch.WhenLaneFinishedAsync("jobs-2", "0.3", 6, CancellationToken.None);
        await finishing.LaneFinishedAsync("b1", "jobs-1", "0.3", 9); // an earlier submission of the batch id
        await finishing.LaneFinishedAsync("b1", "jobs-2", "0.3", 5);
        await Task.Delay(500);
        Assert.False(handedOver.IsCompleted, "handed over before the lane finished through the chunk before it");

        var clock = Stopwatch.StartNew();
        await finishing.LaneFinishedAsync("b1", "jobs-2", "0.3", 6);
        await handedOver.WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"handed over {clock.ElapsedMilliseconds} ms after the record");
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.False(watch.Token.IsCancellationRequested);

        // Deleting the batch deletes its lane rows with its cancel row.
        await finishing.ForgetAsync("b1");
        var left = new List<string>();
        await foreach (TableEntity row in new TableClient(fixture.Emulator.ConnectionString, tableName).QueryAsync<TableEntity>(r => r.PartitionKey == "b1"))
        {
            left.Add(row.RowKey);
        }

        Assert.Empty(left);
    }

    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private int count;

        public int Count => Volatile.Read(ref count);

        public void Reset() => Interlocked.Exchange(ref count, 0);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref count);
    }
}
