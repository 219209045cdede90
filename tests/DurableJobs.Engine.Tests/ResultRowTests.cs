using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Storage;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using DurableJobs.Testing;
using Xunit.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// Result rows hold what Azure Table accepts (Azurite accepts more, so the rows are measured here), and a recorded
/// result never changes, its output included.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class ResultRowTests(EmulatorFixture fixture, ITestOutputHelper output)
{
    // Hiragana: every character is escaped to six (\uXXXX) in the stored JSON.
    private static readonly string Japanese = new([.. Enumerable.Range(0, 1_400).Select(i => (char)('\u3042' + (i % 80)))]);

    [Fact]
    public async Task HundredJobsOf1400JapaneseCharacters_EveryResultRowFitsAzureTable_AndEveryOutputReadsBackWhole()
    {
        string hub = "rows" + Guid.NewGuid().ToString("N")[..12];
        await using EngineHost host = await EngineHost.StartAsync(fixture.Emulator.ConnectionString, hub, new ProbeJobHandler(), jobs: jobs => jobs.AddHandler("text", new TextJobHandler()));
        var request = new BatchRequest
        {
            Jobs = Enumerable.Range(0, 100).Select(i => new JobSpec { Id = $"j{i}", Type = "text", Payload = JsonSerializer.SerializeToElement(new { text = Japanese }) }).ToList(),
            MaxParallel = 10,
            DeadlineSeconds = 600,
        };

        SubmitOutcome outcome = await host.Client.SubmitAsync(request);
        BatchView view = await Eventually.MatchAsync(async () => (await host.Client.GetAsync(outcome.BatchId!))!, v => v.IsFinished, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(250), "batch finished");

        TableEntity[] rows = await RowsAsync(new TableClient(fixture.Emulator.ConnectionString, $"{hub}Results"), outcome.BatchId!);
        foreach (TableEntity row in rows)
        {
            output.WriteLine($"row {row.RowKey}: {TableEntityLimits.SizeOf(row)} bytes, {row.Keys.Count(k => k.StartsWith('r'))} cells");
        }

        Assert.Single(rows);
        Assert.All(rows, row => Assert.Null(TableEntityLimits.Violation(row)));
        Assert.Equal((BatchStatus.Completed, 100), (view.Status, view.Succeeded));
        JobPage jobs = (await host.Client.GetJobsAsync(outcome.BatchId!, top: 100))!;
        Assert.Equal(100, jobs.Items.Count);
        Assert.All(jobs.Items, j => Assert.Equal(Japanese, j.Output!.Value.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task HundredFailuresWith1000CharacterJapaneseMessages_TheRowFitsAzureTable_AndEachMessageIsAPrefixOfItsOriginal()
    {
        AzureBatchStore store = NewStore(out TableClient table);
        string message = Japanese[..1_000];
        IndexedJobResult[] failures = Enumerable.Range(0, 100)
            .Select(i => new IndexedJobResult(i, Result(i, JobStatus.Failed) with { Error = new JobError("JobFailedOnPurposeException", message) }))
            .ToArray();

        await store.RecordAsync("b", failures);

        TableEntity row = Assert.Single(await RowsAsync(table, "b"));
        output.WriteLine($"row: {TableEntityLimits.SizeOf(row)} bytes");
        Assert.Null(TableEntityLimits.Violation(row));
        ResultPage page = await store.QueryAsync("b", null, 100, null);
        Assert.Equal(100, page.Items.Count);
        output.WriteLine($"message kept: {page.Items[0].Error!.Message.Length} of {message.Length} characters");
        Assert.All(page.Items, r => Assert.StartsWith(r.Error!.Message, message, StringComparison.Ordinal));
        Assert.All(page.Items, r => Assert.True(r.Error!.Message.Length >= 500, $"{r.Error.Message.Length} characters kept"));
    }

    [Fact]
    public async Task ARedeliveredResultWithALargeOutput_DoesNotReplaceTheRecordedOutput_AndLeavesNoBlobBehind()
    {
        AzureBatchStore store = NewStore(out _, out BlobContainerClient container);
        string first = new('a', 20_000);
        string second = new('b', 20_000);

        await store.RecordAsync("b", [new IndexedJobResult(5, Result(5, JobStatus.Succeeded) with { Output = JsonSerializer.SerializeToElement(first), Worker = "first" })]);
        await store.RecordAsync("b", [new IndexedJobResult(5, Result(5, JobStatus.Succeeded) with { Output = JsonSerializer.SerializeToElement(second), Worker = "second" })]);

        JobResult recorded = Assert.Single((await store.QueryAsync("b", null, 10, null)).Items);
        Assert.Equal("first", recorded.Worker);
        Assert.Equal(first, recorded.Output!.Value.GetString());
        Assert.Equal(1, await CountAsync(container, "b/outputs/"));
    }

    [Fact]
    public async Task TwoDeliveriesRacing_TheLoserUploadsItsOutputAfterTheWinnerRecorded_TheRecordedOutputStaysTheWinners_AndOneBlobRemains()
    {
        AzureBatchStore winner = NewStore(out TableClient table, out BlobContainerClient container);
        var gate = new OutputUploadGate();
        var options = new BlobClientOptions();
        options.AddPolicy(gate, HttpPipelinePosition.PerCall);
        var loser = new AzureBatchStore(new BlobContainerClient(fixture.Emulator.ConnectionString, container.Name, options), table);
        string first = new('a', 20_000);
        string second = new('b', 20_000);

        // The loser's output upload waits until the winner has recorded the same job: the order a redelivered chunk
        // and the original (a worker thought dead) can take.
        Task late = loser.RecordAsync("b", [new IndexedJobResult(7, Result(7, JobStatus.Succeeded) with { Output = JsonSerializer.SerializeToElement(second), Worker = "loser" })]);
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(30));
        await winner.RecordAsync("b", [new IndexedJobResult(7, Result(7, JobStatus.Succeeded) with { Output = JsonSerializer.SerializeToElement(first), Worker = "winner" })]);
        gate.Release();
        await late.WaitAsync(TimeSpan.FromSeconds(30));

        JobResult recorded = Assert.Single((await winner.QueryAsync("b", null, 10, null)).Items);
        Assert.Equal("winner", recorded.Worker);
        Assert.Equal(first, recorded.Output!.Value.GetString());
        Assert.Equal(1, await CountAsync(container, "b/outputs/"));
    }

    private static async Task<int> CountAsync(BlobContainerClient container, string prefix)
    {
        int blobs = 0;
        await foreach (BlobItem _ in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None))
        {
            blobs++;
        }

        return blobs;
    }

    private static JobResult Result(int index, JobStatus status) => new()
    {
        Id = $"j{index}",
        Type = "echo",
        Status = status,
        Attempts = 1,
        StartedAt = DateTimeOffset.UtcNow,
        FinishedAt = DateTimeOffset.UtcNow,
        Worker = "test",
    };

    private AzureBatchStore NewStore(out TableClient table) => NewStore(out table, out _);

    private AzureBatchStore NewStore(out TableClient table, out BlobContainerClient container)
    {
        string name = "rows" + Guid.NewGuid().ToString("N")[..12];
        container = new BlobContainerClient(fixture.Emulator.ConnectionString, name);
        table = new TableClient(fixture.Emulator.ConnectionString, name);
        return new AzureBatchStore(container, table);
    }

    /// <summary>The result rows of a batch (groups of 100 jobs, keyed by digits; the partition also holds the id's claim row).</summary>
    private static async Task<TableEntity[]> RowsAsync(TableClient table, string batchId)
    {
        var rows = new List<TableEntity>();
        await foreach (TableEntity row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {batchId}")))
        {
            if (row.RowKey.All(char.IsAsciiDigit))
            {
                rows.Add(row);
            }
        }

        return [.. rows];
    }
}

/// <summary>Holds the first output upload (a PUT under outputs/) until released, and says when it got there.</summary>
internal sealed class OutputUploadGate : HttpPipelinePolicy
{
    private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reached => reached.Task;

    public void Release() => released.TrySetResult();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (message.Request.Method == RequestMethod.Put && message.Request.Uri.Path.Contains("/outputs/", StringComparison.Ordinal))
        {
            reached.TrySetResult();
            await released.Task.ConfigureAwait(false);
        }

        await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
    }
}
