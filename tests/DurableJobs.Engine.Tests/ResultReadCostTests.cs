using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration.Storage;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// What a page of results costs in table rows read, on a partition of 10,000 recorded results (100 rows): a cheap
/// request must stay cheap however large the batch is.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class ResultReadCostTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    private const int Jobs = 10_000;

    [Fact]
    public async Task A_page_reads_at_most_11_rows_of_a_10000_result_partition_and_a_rare_status_is_found_through_tokens()
    {
        string hub = "cost" + Guid.NewGuid().ToString("N")[..10];
        var rows = new RowsRead();
        var tableOptions = new TableClientOptions();
        tableOptions.AddPolicy(rows, HttpPipelinePosition.PerCall);
        var store = new AzureBatchStore(
            new BlobContainerClient(fixture.Emulator.ConnectionString, hub + "-batches"),
            new TableClient(fixture.Emulator.ConnectionString, hub + "Results", tableOptions));

        // Every job succeeded but the last one.
        DateTimeOffset at = DateTimeOffset.UtcNow;
        IndexedJobResult[] results = Enumerable.Range(0, Jobs).Select(i => new IndexedJobResult(i, new JobResult
        {
            Id = $"j{i}",
            Type = "echo",
            Status = i == Jobs - 1 ? JobStatus.Failed : JobStatus.Succeeded,
            Attempts = 1,
            Output = JsonSerializer.SerializeToElement(new { n = i }),
            StartedAt = at,
            FinishedAt = at.AddMilliseconds(5),
        })).ToArray();
        foreach (IndexedJobResult[] slice in results.Chunk(1_000))
        {
            await store.RecordAsync("big", slice);
        }

        // The first page of the jobs table (what the dashboard shows): 100 results.
        rows.Reset();
        ResultPage first = await store.QueryAsync("big", null, 100, null);
        int firstPageRows = rows.Total;
        Assert.Equal(100, first.Items.Count);
        Assert.Equal("100", first.ContinuationToken);

        // ?status=Failed&top=1: the one failure is the last result; each page stops after a bounded scan.
        var perPage = new List<int>();
        var found = new List<JobResult>();
        string? token = null;
        do
        {
            rows.Reset();
            ResultPage page = await store.QueryAsync("big", JobStatus.Failed, 1, token);
            perPage.Add(rows.Total);
            found.AddRange(page.Items);
            token = page.ContinuationToken;
        }
        while (token is not null && perPage.Count < 200);

        output.WriteLine($"rows read: first page of 100 = {firstPageRows}; status=Failed&top=1 = {string.Join(", ", perPage)} over {perPage.Count} page(s)");
        Assert.Equal("j9999", Assert.Single(found).Id);
        Assert.InRange(firstPageRows, 1, 3);
        Assert.All(perPage, n => Assert.InRange(n, 0, 11));
    }

    /// <summary>Counts the entities each table GET returned (a query's <c>value</c> array, or 1 for a point read).</summary>
    private sealed class RowsRead : HttpPipelineSynchronousPolicy
    {
        private readonly ConcurrentQueue<int> counts = new();

        public int Total => counts.Sum();

        public void Reset() => counts.Clear();

        public override void OnReceivedResponse(HttpMessage message)
        {
            if (message.Request.Method != RequestMethod.Get || message.Response.Status != 200 || message.Response.Content is not { } content)
            {
                return;
            }

            using JsonDocument body = JsonDocument.Parse(content);
            counts.Enqueue(body.RootElement.TryGetProperty("value", out JsonElement value) ? value.GetArrayLength() : 1);
        }
    }
}
