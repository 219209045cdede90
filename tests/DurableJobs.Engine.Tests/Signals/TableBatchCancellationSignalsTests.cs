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
    public async Task A_worker_watching_30_batches_polls_them_in_3_queries_a_round_and_sees_exactly_the_two_cancelled_by_another_process()
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
            Assert.InRange(perWindow, 1, 3 * ((int)(window.Elapsed.TotalMilliseconds / 250) + 1));

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

    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private int count;

        public int Count => Volatile.Read(ref count);

        public void Reset() => Interlocked.Exchange(ref count, 0);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref count);
    }
}
