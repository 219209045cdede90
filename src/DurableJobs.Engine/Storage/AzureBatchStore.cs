using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;

namespace DurableJobs.Engine.Storage;

/// <summary>
/// The batch store on Azure Storage. Jobs: JSON segments of <see cref="SegmentSize"/> jobs in a blob container,
/// immutable once written (so the few segments the chunks in flight use are cached, see <c>JobSegmentCache</c>).
/// Results: table rows of <see cref="GroupSize"/> consecutive jobs, partition = batch, row = zero-padded group (so a
/// partition reads back in submission order), one cell per job that is set once and never replaced (optimistic
/// concurrency), which is what makes a result final exactly once. Outputs too large for a cell go to a blob. The same
/// table holds the index that lists batches newest first.
/// </summary>
public sealed class AzureBatchStore : IBatchStore
{
    /// <summary>Jobs per blob segment.</summary>
    public const int SegmentSize = 1_000;

    /// <summary>Results per table row: one row holds a group of consecutive jobs, so recording costs a write per group, not per job.</summary>
    public const int GroupSize = 100;

    // A row is at most 1 MB and a property 64 KB: 100 results of at most ~3,000 characters fit with room to spare.
    private const int MaxInlineOutputChars = 1_500;
    private const int MaxErrorChars = 1_000;

    // A page of results reads at most this many rows (1,000 results) beyond what its size needs; see QueryAsync.
    private const int ScannedGroups = 10;

    // The most rows a table query returns per request (the service's own limit is 1,000).
    private const int MaxRowsPerRequest = 100;

    // The batch index lives in the results table, in a partition no batch can have ('~' is not an id character): an
    // empty row per batch, keyed by inverted submission time, so the newest come first and a page of the list reads
    // as many rows as it shows, however many batches the hub holds; and a marker row per batch id.
    private const string IndexPartition = "~batches";
    private const string IndexMarkerPrefix = "id_";

    // The chunks in flight (at most 8 per batch by default) share segments only with their neighbours, so a handful
    // covers them; the byte bound keeps large payloads from multiplying it (1,000 jobs of 64 KB are 64 MB).
    private const int CachedSegments = 8;
    private const long CachedSegmentBytes = 8L * 1024 * 1024;

    private readonly BlobContainerClient container;
    private readonly TableClient results;
    private readonly JobSegmentCache segmentCache = new(CachedSegments, CachedSegmentBytes);
    private readonly SemaphoreSlim ready = new(1, 1);
    private volatile bool created;

    /// <summary>Creates the store over a container (jobs, large outputs) and a table (results).</summary>
    public AzureBatchStore(BlobContainerClient container, TableClient results)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(results);
        this.container = container;
        this.results = results;
    }

    /// <inheritdoc />
    public async Task<string> SaveJobsAsync(string batchId, IReadOnlyList<ScheduledJob> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentNullException.ThrowIfNull(jobs);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        string key = Guid.NewGuid().ToString("N");
        int segments = (jobs.Count + SegmentSize - 1) / SegmentSize;
        await Parallel.ForAsync(0, segments, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (segment, ct) =>
        {
            int start = segment * SegmentSize;
            var slice = new ScheduledJob[Math.Min(SegmentSize, jobs.Count - start)];
            for (int i = 0; i < slice.Length; i++)
            {
                slice[i] = jobs[start + i];
            }

            BinaryData body = BinaryData.FromObjectAsJson(slice, DurableJobsJson.Options);
            await container.GetBlobClient(SegmentName(batchId, key, segment)).UploadAsync(body, overwrite: true, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return key;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ScheduledJob>> ReadJobsAsync(string batchId, string jobsKey, int start, int count, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentException.ThrowIfNullOrEmpty(jobsKey);
        var jobs = new List<ScheduledJob>(count);
        for (int index = start; index < start + count;)
        {
            int segment = index / SegmentSize;
            IReadOnlyList<ScheduledJob> jobsOfSegment = await ReadSegmentAsync(batchId, jobsKey, segment, cancellationToken).ConfigureAwait(false);
            int offset = index - (segment * SegmentSize);
            int take = Math.Min(start + count - index, jobsOfSegment.Count - offset);
            if (take <= 0)
            {
                throw new InvalidOperationException($"Batch {batchId} has no job {index}.");
            }

            for (int i = 0; i < take; i++)
            {
                jobs.Add(jobsOfSegment[offset + i]);
            }

            index += take;
        }

        return jobs;
    }

    /// <inheritdoc />
    public async Task DeleteJobsAsync(string batchId, string jobsKey, CancellationToken cancellationToken = default)
    {
        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, $"{batchId}/{jobsKey}/", cancellationToken).ConfigureAwait(false))
        {
            await container.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<int, JobResult>> GetRecordedAsync(string batchId, int start, int count, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var recorded = new Dictionary<int, JobResult>();
        int end = start + count;
        await foreach (TableEntity row in QueryGroupsAsync(batchId, start / GroupSize, (end - 1) / GroupSize, MaxRowsPerRequest, cancellationToken).ConfigureAwait(false))
        {
            foreach ((int index, JobResult result) in ReadGroup(row, withOutput: false))
            {
                if (index >= start && index < end)
                {
                    recorded[index] = result;
                }
            }
        }

        return recorded;
    }

    /// <inheritdoc />
    public async Task RecordAsync(string batchId, IReadOnlyList<IndexedJobResult> recordedResults, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recordedResults);
        if (recordedResults.Count == 0)
        {
            return;
        }

        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        foreach (IGrouping<int, IndexedJobResult> group in recordedResults.GroupBy(r => r.Index / GroupSize))
        {
            var cells = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (IndexedJobResult result in group)
            {
                cells.TryAdd(Cell(result.Index), await SerializeAsync(batchId, result, cancellationToken).ConfigureAwait(false));
            }

            await MergeGroupAsync(batchId, group.Key, cells, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<ResultPage> QueryAsync(string batchId, JobStatus? status, int top, string? continuationToken, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        int from = 0;
        if (continuationToken is not null && (!int.TryParse(continuationToken, NumberStyles.None, CultureInfo.InvariantCulture, out from) || from < 0))
        {
            throw new FormatException("The continuation token is not one this service issued.");
        }

        // A page reads the rows `top` results need (one more, as `from` may fall inside a row) and at most ScannedGroups
        // rows when a status filter skips results: a filter that matches little (?status=Failed&top=1 over 100,000
        // successes) answers a short or empty page with a token where its scan stopped, rather than reading the whole
        // partition. Rows are fetched as many per request as the page is expected to read.
        int groupsForTop = ((top + GroupSize - 1) / GroupSize) + 1;
        int scanLimit = Math.Max(groupsForTop, ScannedGroups);
        var items = new List<JobResult>(Math.Min(top, 1_000));
        int scanned = 0;
        await foreach (TableEntity row in QueryGroupsAsync(batchId, from / GroupSize, int.MaxValue / GroupSize, (status is null ? groupsForTop : scanLimit) + 1, cancellationToken).ConfigureAwait(false))
        {
            if (scanned++ == scanLimit)
            {
                // A row beyond the scan exists: the next page starts there.
                return new ResultPage(await WithOutputsAsync(items, cancellationToken).ConfigureAwait(false), FirstIndex(row).ToString(CultureInfo.InvariantCulture));
            }

            foreach ((int index, JobResult result) in ReadGroup(row, withOutput: true))
            {
                if (index < from || (status is { } wanted && result.Status != wanted))
                {
                    continue;
                }

                if (items.Count == top)
                {
                    // One more match exists: the next page starts at it.
                    return new ResultPage(await WithOutputsAsync(items, cancellationToken).ConfigureAwait(false), index.ToString(CultureInfo.InvariantCulture));
                }

                items.Add(result);
            }
        }

        return new ResultPage(await WithOutputsAsync(items, cancellationToken).ConfigureAwait(false), null);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobSpan>> ReadSpansAsync(string batchId, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var spans = new List<JobSpan>();
        await foreach (TableEntity row in QueryGroupsAsync(batchId, 0, int.MaxValue / GroupSize, MaxRowsPerRequest, cancellationToken).ConfigureAwait(false))
        {
            for (int offset = 0; offset < GroupSize; offset++)
            {
                // Outputs kept in blobs stay there: the times are all a timeline needs.
                if (row.GetString(Cell(offset)) is { } json
                    && JsonSerializer.Deserialize<StoredSpan>(json, DurableJobsJson.Options)?.Result is { StartedAt: { } started, FinishedAt: { } finished })
                {
                    spans.Add(new JobSpan(started, finished));
                }
            }
        }

        return spans;
    }

    /// <inheritdoc />
    public async Task IndexBatchAsync(string batchId, DateTimeOffset submittedAt, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);

        // The entry and a marker of the id, added in one transaction: concurrent submissions of one id add one entry
        // (the others find the marker), and no crash leaves a marker without its entry.
        string entry = (DateTimeOffset.MaxValue.UtcTicks - submittedAt.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + "_" + batchId;
        try
        {
            await results.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(IndexPartition, entry)),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(IndexPartition, IndexMarkerPrefix + batchId)),
                ],
                cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
        {
            // Indexed by an earlier submission of this id.
        }
    }

    /// <inheritdoc />
    public async Task<BatchIdPage> ListBatchesAsync(int count, string? continuationToken, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (continuationToken is not null && IdOfIndexKey(continuationToken) is null)
        {
            throw new FormatException("The continuation token is not one this service issued.");
        }

        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);

        // Entries start with digits; the markers ("id_...") sort after them and are never read here.
        string filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {IndexPartition} and RowKey gt {continuationToken ?? string.Empty} and RowKey lt {IndexMarkerPrefix}");

        // One entry more than asked for tells whether another page exists.
        var keys = new List<string>(count + 1);
        await foreach (TableEntity entry in results.QueryAsync<TableEntity>(filter, maxPerPage: count + 1, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            keys.Add(entry.RowKey);
            if (keys.Count > count)
            {
                break;
            }
        }

        IReadOnlyList<string> page = keys.Take(count).ToList();
        return new BatchIdPage(page.Select(k => IdOfIndexKey(k)!).ToList(), keys.Count > count ? page[^1] : null);
    }

    private static string SegmentName(string batchId, string key, int segment) =>
        $"{batchId}/{key}/jobs-{segment.ToString("D6", CultureInfo.InvariantCulture)}.json";

    // The batch id of an index key (19 digits of inverted submission ticks, '_', the id), or null when it is not one.
    private static string? IdOfIndexKey(string key) =>
        key.Length > 20 && key[19] == '_' && !key.AsSpan(0, 19).ContainsAnyExcept("0123456789") && BatchValidator.IsValidId(key[20..]) ? key[20..] : null;

    private static string RowKey(int group) => group.ToString("D7", CultureInfo.InvariantCulture);

    private static string Cell(int index) => "r" + (index % GroupSize).ToString("D2", CultureInfo.InvariantCulture);

    private static int FirstIndex(TableEntity row) => int.Parse(row.RowKey, CultureInfo.InvariantCulture) * GroupSize;

    private static IEnumerable<(int Index, JobResult Result)> ReadGroup(TableEntity row, bool withOutput)
    {
        int first = FirstIndex(row);
        for (int offset = 0; offset < GroupSize; offset++)
        {
            if (row.GetString("r" + offset.ToString("D2", CultureInfo.InvariantCulture)) is not { } json)
            {
                continue;
            }

            StoredResult stored = JsonSerializer.Deserialize<StoredResult>(json, DurableJobsJson.Options)!;
            JobResult result = stored.Result;
            if (!withOutput)
            {
                result = result with { Output = null };
            }
            else if (stored.OutputBlob is not null)
            {
                // Resolved by WithOutputsAsync; the marker carries the blob name until then.
                result = result with { Output = JsonSerializer.SerializeToElement(new OutputReference(stored.OutputBlob), DurableJobsJson.Options) };
            }

            yield return (first + offset, result);
        }
    }

    private IAsyncEnumerable<TableEntity> QueryGroupsAsync(string batchId, int firstGroup, int lastGroup, int rowsPerRequest, CancellationToken cancellationToken) =>
        results.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {batchId} and RowKey ge {RowKey(firstGroup)} and RowKey le {RowKey(lastGroup)}"),
            maxPerPage: rowsPerRequest,
            cancellationToken: cancellationToken);

    private async Task MergeGroupAsync(string batchId, int group, Dictionary<string, string> cells, CancellationToken cancellationToken)
    {
        // Optimistic concurrency on the group row: add it, or add the missing cells under its ETag; on a race, read
        // again. A cell that is already set is never overwritten, which is what makes a result final exactly once.
        for (int attempt = 1; ; attempt++)
        {
            NullableResponse<TableEntity> existing = await results.GetEntityIfExistsAsync<TableEntity>(batchId, RowKey(group), cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!existing.HasValue)
                {
                    var row = new TableEntity(batchId, RowKey(group));
                    foreach ((string cell, string json) in cells)
                    {
                        row[cell] = json;
                    }

                    await results.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
                    return;
                }

                TableEntity current = existing.Value!;
                var patch = new TableEntity(batchId, RowKey(group));
                foreach ((string cell, string json) in cells)
                {
                    if (!current.ContainsKey(cell))
                    {
                        patch[cell] = json;
                    }
                }

                if (!patch.Keys.Any(k => k.StartsWith('r')))
                {
                    return; // every result was recorded before: the first outcome wins
                }

                await results.UpdateEntityAsync(patch, current.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 50)
            {
                // Someone else wrote this group meanwhile: merge again on top of theirs.
                await Task.Delay(Random.Shared.Next(5, 20 + (10 * attempt)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> SerializeAsync(string batchId, IndexedJobResult indexed, CancellationToken cancellationToken)
    {
        JobResult result = indexed.Result;
        if (result.Error is { } error && error.Message.Length > MaxErrorChars)
        {
            result = result with { Error = error with { Message = error.Message[..MaxErrorChars] } };
        }

        string? outputBlob = null;
        if (result.Output is { } output && output.GetRawText().Length > MaxInlineOutputChars)
        {
            outputBlob = $"{batchId}/outputs/{indexed.Index.ToString("D9", CultureInfo.InvariantCulture)}.json";
            await container.GetBlobClient(outputBlob).UploadAsync(BinaryData.FromString(output.GetRawText()), overwrite: true, cancellationToken).ConfigureAwait(false);
            result = result with { Output = null };
        }

        return JsonSerializer.Serialize(new StoredResult(result, outputBlob), DurableJobsJson.Options);
    }

    private async Task<IReadOnlyList<JobResult>> WithOutputsAsync(List<JobResult> items, CancellationToken cancellationToken)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Output is { ValueKind: JsonValueKind.Object } marker && marker.TryGetProperty(OutputReference.Marker, out JsonElement blob))
            {
                BinaryData content = (await container.GetBlobClient(blob.GetString()).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
                using JsonDocument doc = JsonDocument.Parse(content);
                items[i] = items[i] with { Output = doc.RootElement.Clone() };
            }
        }

        return items;
    }

    private async Task<IReadOnlyList<ScheduledJob>> ReadSegmentAsync(string batchId, string jobsKey, int segment, CancellationToken cancellationToken)
    {
        string name = SegmentName(batchId, jobsKey, segment);
        if (segmentCache.TryGet(name, out IReadOnlyList<ScheduledJob> cached))
        {
            return cached;
        }

        BlobDownloadResult download = (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
        ScheduledJob[] jobs = download.Content.ToObjectFromJson<ScheduledJob[]>(DurableJobsJson.Options)
            ?? throw new InvalidOperationException($"Job segment {name} is empty.");
        segmentCache.Add(name, jobs, JobSegmentCache.Estimate(download.Content.ToMemory().Length, jobs.Length));
        return jobs;
    }

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (created)
        {
            return;
        }

        await ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!created)
            {
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                await results.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
                created = true;
            }
        }
        finally
        {
            ready.Release();
        }
    }

    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max];
}
