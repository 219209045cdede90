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
/// The batch store on Azure Storage. Jobs: JSON segments of at most 1,000 jobs and 1 MiB in a blob container, with
/// a layout saying where each starts, immutable once written (so the few segments the chunks in flight use are
/// cached, see <c>JobSegmentCache</c>).
/// Results: table rows of <see cref="GroupSize"/> consecutive jobs, partition = batch, row = zero-padded group (so a
/// partition reads back in submission order), one cell per job that is set once and never replaced (optimistic
/// concurrency), which is what makes a result final exactly once. Outputs too large for a cell go to a blob. The
/// claim on a batch id (one submission's, see <see cref="TryClaimAsync"/>) is a row of the same partition; the same
/// table holds the index that lists batches newest first.
/// </summary>
internal sealed class AzureBatchStore : IBatchStore
{
    /// <summary>Results per table row: one row holds a group of consecutive jobs, so recording costs a write per group, not per job.</summary>
    public const int GroupSize = 100;

    // The claim on the batch id lives in the batch's results partition; letters sort after the groups' digits, so
    // no range of groups ever reads it.
    private const string ClaimRowKey = "claim";
    private const string JobsKeyProperty = "JobsKey";

    // Azure Table holds 1 MiB per row and 64 KiB per property, counted in UTF-16, and Azurite enforces neither. A cell
    // is measured as stored, after the serializer escaped it: a character outside ASCII (or one of <>&'+) takes six,
    // so 1,400 Japanese characters are 8,400. At 4,000 characters a cell, a row is at most 100 × (18 + 8,000) bytes
    // plus its keys, about 0.8 MB. A result that does not fit sheds its output to a blob, then the end of its error
    // message.
    private const int MaxCellChars = 4_000;

    // A page of results reads at most this many rows (1,000 results) beyond what its size needs; see QueryAsync.
    private const int ScannedGroups = 10;

    // The most rows a table query returns per request (the service's own limit is 1,000).
    private const int MaxRowsPerRequest = 100;

    // The batch index lives in the results table, in a partition no batch can have ('~' is not an id character): an
    // empty row per batch, keyed by inverted submission time, so the newest come first and a page of the list reads
    // as many rows as it shows, however many batches the hub holds; and a marker row per batch id.
    private const string IndexPartition = "~batches";
    private const string IndexMarkerPrefix = "id_";

    // The marker names its entry, so a delete finds the entry without scanning the index (markers written before it
    // did are found by a scan).
    private const string IndexEntryProperty = "Entry";

    // A table transaction takes at most 100 operations, all in one partition.
    private const int MaxTransactionActions = 100;

    // The chunks in flight (at most 8 per batch by default) share segments only with their neighbours, so a handful
    // covers them; the byte bound keeps large payloads from multiplying it (a segment of 1 MiB of JSON parses to ~2 MB).
    // Layouts are a few hundred bytes each, one per batch running here.
    private const int CachedSegments = 8;
    private const long CachedSegmentBytes = 8L * 1024 * 1024;
    private const int CachedLayouts = 64;
    private const long CachedLayoutBytes = 256 * 1024;

    // Keys of jobs saved with a layout start with this; older keys are 32 hex digits, and their segments hold 1,000
    // jobs each. The key says which, so a reader never guesses from a missing layout. The segments have another name
    // too, so a worker of the earlier version, which would take segment n for jobs n × 1,000 on, finds nothing and
    // fails the chunk (it is retried) rather than running the wrong jobs.
    private const string LayoutKeyPrefix = "v2-";

    private readonly BlobContainerClient container;
    private readonly TableClient results;
    private readonly JobSegmentCache<ScheduledJob[]> segmentCache = new(CachedSegments, CachedSegmentBytes);
    private readonly JobSegmentCache<JobSegmentLayout> layoutCache = new(CachedLayouts, CachedLayoutBytes);
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
    public async Task<BatchClaim?> TryClaimAsync(string batchId, TimeSpan abandonedAfter, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        string jobsKey = LayoutKeyPrefix + Guid.NewGuid().ToString("N");
        try
        {
            Response added = await results.AddEntityAsync(ClaimRow(batchId, jobsKey), cancellationToken).ConfigureAwait(false);
            return new BatchClaim(batchId, jobsKey, added.Headers.ETag.ToString()!, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Held. Its age comes from the row's server timestamp, so only this host's clock skew (seconds, against a
            // timeout of a minute) can make a live claim look abandoned a little early.
        }

        NullableResponse<TableEntity> held = await results.GetEntityIfExistsAsync<TableEntity>(batchId, ClaimRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!held.HasValue || held.Value!.Timestamp is not { } claimedAt || DateTimeOffset.UtcNow - claimedAt < abandonedAfter)
        {
            return null;
        }

        try
        {
            Response taken = await results.UpdateEntityAsync(ClaimRow(batchId, jobsKey), held.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return new BatchClaim(batchId, jobsKey, taken.Headers.ETag.ToString()!, held.Value.GetString(JobsKeyProperty));
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return null; // another submission took it over, or its holder gave it up, first
        }
    }

    /// <inheritdoc />
    public async Task<BatchClaim?> RenewClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        try
        {
            Response renewed = await results.UpdateEntityAsync(ClaimRow(claim.BatchId, claim.JobsKey), new ETag(claim.Version), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return claim with { Version = renewed.Headers.ETag.ToString()! };
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task ReleaseClaimAsync(BatchClaim claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        try
        {
            await results.DeleteEntityAsync(claim.BatchId, ClaimRowKey, new ETag(claim.Version), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            // Taken over (or gone) meanwhile: it is no longer ours to release.
        }
    }

    /// <inheritdoc />
    public async Task SaveJobsAsync(string batchId, string jobsKey, IReadOnlyList<ScheduledJob> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentException.ThrowIfNullOrEmpty(jobsKey);
        ArgumentNullException.ThrowIfNull(jobs);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var starts = new List<int>();

        // Segments are serialized as the uploads take them, so at most eight are in memory besides the jobs; the
        // layout is written last, once every segment it names exists.
        await Parallel.ForEachAsync(
            JobSegmentLayout.Write(jobs, starts),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (segment, ct) => await container.GetBlobClient(SegmentName(batchId, jobsKey, segment.Segment)).UploadAsync(segment.Json, overwrite: true, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var layout = new JobSegmentLayout([.. starts], jobs.Count);
        await container.GetBlobClient(LayoutName(batchId, jobsKey)).UploadAsync(BinaryData.FromObjectAsJson(layout, DurableJobsJson.Options), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ScheduledJob>> ReadJobsAsync(string batchId, string jobsKey, int start, int count, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentException.ThrowIfNullOrEmpty(jobsKey);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        JobSegmentLayout layout = await ReadLayoutAsync(batchId, jobsKey, cancellationToken).ConfigureAwait(false);
        if (layout.Source is { } source)
        {
            return await ReadReferencedAsync(batchId, source, start, count, cancellationToken).ConfigureAwait(false);
        }

        var jobs = new List<ScheduledJob>(count);
        for (int index = start; index < start + count;)
        {
            int segment = layout.SegmentOf(index);
            ScheduledJob[] jobsOfSegment = index < layout.Count ? await ReadSegmentAsync(batchId, jobsKey, segment, cancellationToken).ConfigureAwait(false) : [];
            int offset = index - layout.StartOf(segment);
            int take = Math.Min(start + count - index, jobsOfSegment.Length - offset);
            if (take <= 0)
            {
                throw new InvalidOperationException($"Batch {batchId} has no job {index}.");
            }

            if (jobsOfSegment[offset].Index != index)
            {
                throw new InvalidOperationException($"Job segment {segment} of batch {batchId} holds job {jobsOfSegment[offset].Index} where its layout puts job {index}.");
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
    public async Task SaveJobReferenceAsync(string batchId, string jobsKey, string sourceBatchId, string sourceJobsKey, IReadOnlyList<int> indices, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        ArgumentException.ThrowIfNullOrEmpty(jobsKey);
        ArgumentException.ThrowIfNullOrEmpty(sourceBatchId);
        ArgumentException.ThrowIfNullOrEmpty(sourceJobsKey);
        ArgumentNullException.ThrowIfNull(indices);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);

        // A reference to a reference is resolved now, so reading a job never follows more than one.
        JobSegmentLayout sourceLayout = await ReadLayoutAsync(sourceBatchId, sourceJobsKey, cancellationToken).ConfigureAwait(false);
        JobSource source = sourceLayout.Source is { } further
            ? new JobSource(further.BatchId, further.JobsKey, [.. indices.Select(i => further.Indices[i])])
            : new JobSource(sourceBatchId, sourceJobsKey, [.. indices]);
        var layout = new JobSegmentLayout([], indices.Count) { Source = source };
        await container.GetBlobClient(LayoutName(batchId, jobsKey)).UploadAsync(BinaryData.FromObjectAsJson(layout, DurableJobsJson.Options), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Jobs <paramref name="start"/>.. of a re-run, read from its source batch run by run of consecutive indices, renumbered.</summary>
    private async Task<IReadOnlyList<ScheduledJob>> ReadReferencedAsync(string batchId, JobSource source, int start, int count, CancellationToken cancellationToken)
    {
        if (start + count > source.Indices.Length)
        {
            throw new InvalidOperationException($"Batch {batchId} has no job {source.Indices.Length}.");
        }

        var jobs = new List<ScheduledJob>(count);
        for (int k = start; k < start + count;)
        {
            int first = source.Indices[k];
            int run = 1;
            while (k + run < start + count && source.Indices[k + run] == first + run)
            {
                run++;
            }

            IReadOnlyList<ScheduledJob> read = await ReadJobsAsync(source.BatchId, source.JobsKey, first, run, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < run; i++)
            {
                jobs.Add(read[i] with { Index = k + i });
            }

            k += run;
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
            var cells = new Dictionary<string, IndexedJobResult>(StringComparer.Ordinal);
            foreach (IndexedJobResult result in group)
            {
                cells.TryAdd(Cell(result.Index), result);
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

    private static TableEntity ClaimRow(string batchId, string jobsKey) => new(batchId, ClaimRowKey) { [JobsKeyProperty] = jobsKey };

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
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(IndexPartition, IndexMarkerPrefix + batchId) { [IndexEntryProperty] = entry }),
                ],
                cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
        {
            // Indexed by an earlier submission of this id.
        }
    }

    /// <inheritdoc />
    public async Task DeleteBatchAsync(string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);

        // Blobs first, the index last: a delete that stops half-way leaves the batch listed, so it can be deleted again.
        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, batchId + "/", cancellationToken).ConfigureAwait(false))
        {
            await container.DeleteBlobIfExistsAsync(blob.Name, DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        // The result rows and the claim share the batch's partition: a transaction deletes up to 100 of them at once.
        var rows = new List<TableTransactionAction>(MaxTransactionActions);
        await foreach (TableEntity row in results.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {batchId}"), maxPerPage: MaxTransactionActions, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All));
            if (rows.Count == MaxTransactionActions)
            {
                await DeleteRowsAsync(rows, cancellationToken).ConfigureAwait(false);
            }
        }

        await DeleteRowsAsync(rows, cancellationToken).ConfigureAwait(false);

        NullableResponse<TableEntity> marker = await results.GetEntityIfExistsAsync<TableEntity>(IndexPartition, IndexMarkerPrefix + batchId, cancellationToken: cancellationToken).ConfigureAwait(false);
        var index = new List<TableTransactionAction>(2);
        if (marker.HasValue)
        {
            index.Add(new TableTransactionAction(TableTransactionActionType.Delete, marker.Value!, ETag.All));
        }

        string? entry = marker.HasValue ? marker.Value!.GetString(IndexEntryProperty) : null;
        if (entry is null)
        {
            string filter = TableClient.CreateQueryFilter($"PartitionKey eq {IndexPartition} and RowKey lt {IndexMarkerPrefix}");
            await foreach (TableEntity candidate in results.QueryAsync<TableEntity>(filter, maxPerPage: 1_000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (IdOfIndexKey(candidate.RowKey) == batchId)
                {
                    entry = candidate.RowKey;
                    break;
                }
            }
        }

        if (entry is not null)
        {
            index.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(IndexPartition, entry), ETag.All));
        }

        // Entry and marker go together, as they came: a marker left without its entry would keep a later batch of
        // this id out of the list.
        await DeleteRowsAsync(index, cancellationToken).ConfigureAwait(false);
    }

    private async Task DeleteRowsAsync(List<TableTransactionAction> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }

        try
        {
            await results.SubmitTransactionAsync(rows, cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 404)
        {
            // A concurrent delete took a row first: delete the rest one by one.
            foreach (TableTransactionAction row in rows)
            {
                await results.DeleteEntityAsync(row.Entity.PartitionKey, row.Entity.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            }
        }

        rows.Clear();
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
        $"{batchId}/{key}/{(key.StartsWith(LayoutKeyPrefix, StringComparison.Ordinal) ? "segment" : "jobs")}-{segment.ToString("D6", CultureInfo.InvariantCulture)}.json";

    private static string LayoutName(string batchId, string key) => $"{batchId}/{key}/layout.json";

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

    private async Task MergeGroupAsync(string batchId, int group, Dictionary<string, IndexedJobResult> pending, CancellationToken cancellationToken)
    {
        // Optimistic concurrency on the group row: add it, or add the missing cells under its ETag; on a race, read
        // again. A cell that is already set is never overwritten, which is what makes a result final exactly once.
        // Only the cells still empty are serialized, so a result recorded before costs no output upload.
        var stored = new Dictionary<string, StoredCell>(StringComparer.Ordinal);
        TableEntity? current = null;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                NullableResponse<TableEntity> existing = await results.GetEntityIfExistsAsync<TableEntity>(batchId, RowKey(group), cancellationToken: cancellationToken).ConfigureAwait(false);
                current = existing.HasValue ? existing.Value : null;
                var patch = new TableEntity(batchId, RowKey(group));
                foreach ((string cell, IndexedJobResult result) in pending)
                {
                    if (current?.ContainsKey(cell) == true)
                    {
                        continue;
                    }

                    if (!stored.TryGetValue(cell, out StoredCell? serialized))
                    {
                        stored[cell] = serialized = await SerializeAsync(batchId, result, cancellationToken).ConfigureAwait(false);
                    }

                    patch[cell] = serialized.Json;
                }

                if (!patch.Keys.Any(k => k.StartsWith('r')))
                {
                    return; // every result was recorded before: the first outcome wins
                }

                try
                {
                    if (current is null)
                    {
                        TableEntityLimits.ThrowIfExceeded(patch);
                        await results.AddEntityAsync(patch, cancellationToken).ConfigureAwait(false);
                        current = patch;
                        return;
                    }

                    ETag etag = current.ETag;
                    foreach ((string cell, object json) in patch)
                    {
                        current[cell] = json; // the row as the merge leaves it, to measure and to know what is ours
                    }

                    TableEntityLimits.ThrowIfExceeded(current);
                    await results.UpdateEntityAsync(patch, etag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 50)
                {
                    // Someone else wrote this group meanwhile: merge again on top of theirs.
                    await Task.Delay(Random.Shared.Next(5, 20 + (10 * attempt)), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await DeleteUnusedOutputsAsync(stored, current).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Deletes the output blobs this writer uploaded for cells that another delivery recorded first. Each upload has
    /// a name of its own, so the blob of the recorded result is never touched; a cell that holds this writer's own
    /// text (an add whose answer was lost and retried) keeps its blob. Without a row read, nothing is known and
    /// nothing is deleted: a leftover blob costs storage, a deleted one would lose an output.
    /// </summary>
    private async Task DeleteUnusedOutputsAsync(Dictionary<string, StoredCell> stored, TableEntity? row)
    {
        if (row is null)
        {
            return;
        }

        foreach ((string cell, StoredCell serialized) in stored)
        {
            if (serialized.OutputBlob is null || !row.TryGetValue(cell, out object? value) || Equals(value, serialized.Json))
            {
                continue;
            }

            try
            {
                await container.DeleteBlobIfExistsAsync(serialized.OutputBlob).ConfigureAwait(false);
            }
            catch (RequestFailedException)
            {
                // Best effort: the result is recorded either way, and the leftover blob is never read.
            }
        }
    }

    private async Task<StoredCell> SerializeAsync(string batchId, IndexedJobResult indexed, CancellationToken cancellationToken)
    {
        JobResult result = indexed.Result;
        string cell = JsonSerializer.Serialize(new StoredResult(result, null), DurableJobsJson.Options);
        if (cell.Length <= MaxCellChars)
        {
            return new StoredCell(cell, null);
        }

        string? outputBlob = null;
        if (result.Output is { } output)
        {
            // A name per upload, not per job: a redelivered run writes beside the recorded output, never over it.
            outputBlob = $"{batchId}/outputs/{indexed.Index.ToString("D9", CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}.json";
            await container.GetBlobClient(outputBlob).UploadAsync(BinaryData.FromString(output.GetRawText()), overwrite: false, cancellationToken).ConfigureAwait(false);
            result = result with { Output = null };
            cell = JsonSerializer.Serialize(new StoredResult(result, outputBlob), DurableJobsJson.Options);
        }

        if (cell.Length > MaxCellChars && result.Error is { } error)
        {
            result = result with { Error = error with { Message = Shorten(error.Message, cell.Length - MaxCellChars) } };
            cell = JsonSerializer.Serialize(new StoredResult(result, outputBlob), DurableJobsJson.Options);
        }

        return cell.Length <= MaxCellChars
            ? new StoredCell(cell, outputBlob)
            : throw new InvalidOperationException($"The result of job {result.Id} takes {cell.Length} characters without its output and error message; a result cell holds {MaxCellChars}.");
    }

    /// <summary>The longest start of <paramref name="text"/> whose escaped JSON is <paramref name="excessChars"/> shorter than the whole one's.</summary>
    private static string Shorten(string text, int excessChars)
    {
        int budget = EscapedLength(text) - excessChars;
        int low = 0;
        int high = text.Length;
        while (low < high)
        {
            int mid = (low + high + 1) / 2;
            if (EscapedLength(text.AsSpan(0, mid)) <= budget)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        if (low > 0 && char.IsHighSurrogate(text[low - 1]))
        {
            low--; // never cut a character in half
        }

        return text[..low];
    }

    private static int EscapedLength(ReadOnlySpan<char> text) => JsonEncodedText.Encode(text, DurableJobsJson.Options.Encoder).Value.Length;

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

    private async Task<JobSegmentLayout> ReadLayoutAsync(string batchId, string jobsKey, CancellationToken cancellationToken)
    {
        if (!jobsKey.StartsWith(LayoutKeyPrefix, StringComparison.Ordinal))
        {
            return JobSegmentLayout.ThousandEach;
        }

        string name = LayoutName(batchId, jobsKey);
        if (layoutCache.TryGet(name, out JobSegmentLayout? cached))
        {
            return cached;
        }

        BinaryData content = (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        JobSegmentLayout layout = content.ToObjectFromJson<JobSegmentLayout>(DurableJobsJson.Options)
            ?? throw new InvalidOperationException($"Job layout {name} is empty.");
        layoutCache.Add(name, layout, layout.EstimatedBytes);
        return layout;
    }

    private async Task<ScheduledJob[]> ReadSegmentAsync(string batchId, string jobsKey, int segment, CancellationToken cancellationToken)
    {
        string name = SegmentName(batchId, jobsKey, segment);
        if (segmentCache.TryGet(name, out ScheduledJob[]? cached))
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

    /// <summary>A result cell's text and the output blob it points to, if any.</summary>
    private sealed record StoredCell(string Json, string? OutputBlob);

    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max];
}
