using System.Globalization;
using Azure;
using Azure.Data.Tables;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Storage;

namespace DurableJobs.Engine.Storage;

/// <summary>
/// Running jobs' progress and checkpoints on Azure Table: a row per job that ran past a progress flush (or saved a
/// checkpoint), in the batch's results partition under <c>p{index:D9}</c>. Letters sort after the result groups'
/// digits, so no range of groups reads them, and the rows of a batch's running jobs are one short range. A row is
/// deleted once its job's result is recorded, so the range holds about as many rows as jobs are running.
/// </summary>
internal sealed class AzureJobProgressStore(TableClient results) : IJobProgressStore
{
    // A transaction holds at most 100 entities of one partition (and 4 MiB: progress rows carry no checkpoint).
    private const int MaxTransactionRows = 100;
    private const string RowPrefix = "p";
    private const string CheckpointProperty = "Checkpoint";

    /// <inheritdoc />
    public async Task WriteAsync(string batchId, IReadOnlyList<JobProgressRow> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (JobProgressRow[] part in rows.Chunk(MaxTransactionRows))
        {
            List<TableTransactionAction> actions = part.Select(row => row.Finished
                ? new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(batchId, RowKey(row.Index)), ETag.All)
                : new TableTransactionAction(TableTransactionActionType.UpsertMerge, ToEntity(batchId, row))).ToList();
            try
            {
                await results.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404)
            {
                // A row to delete is gone already (a transaction is all or nothing): one by one, a missing row being fine.
                foreach (TableTransactionAction action in actions)
                {
                    if (action.ActionType == TableTransactionActionType.Delete)
                    {
                        await results.DeleteEntityAsync(batchId, action.Entity.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await results.UpsertEntityAsync((TableEntity)action.Entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
    }

    /// <inheritdoc />
    public async Task SaveCheckpointAsync(string batchId, int index, string checkpointJson, CancellationToken cancellationToken = default)
    {
        var entity = new TableEntity(batchId, RowKey(index)) { [CheckpointProperty] = checkpointJson };
        TableEntityLimits.ThrowIfExceeded(entity);
        await results.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<int, string?>> ReadCheckpointsAsync(string batchId, int start, int count, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<int, string?>();
        if (count <= 0)
        {
            return found;
        }

        string filter = TableClient.CreateQueryFilter($"PartitionKey eq {batchId} and RowKey ge {RowKey(start)} and RowKey le {RowKey(start + count - 1)}");
        await foreach (TableEntity row in results.QueryAsync<TableEntity>(filter, select: ["RowKey", CheckpointProperty], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            found[IndexOf(row.RowKey)] = row.GetString(CheckpointProperty);
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobResult>> ReadRunningAsync(string batchId, CancellationToken cancellationToken = default)
    {
        string filter = TableClient.CreateQueryFilter($"PartitionKey eq {batchId} and RowKey ge {RowPrefix} and RowKey lt {"q"}");
        var running = new List<JobResult>();
        string[] select = ["RowKey", "JobId", "Type", "Attempt", "StartedAt", "Value", "Message", "ReportedAt", "Worker"];
        await foreach (TableEntity row in results.QueryAsync<TableEntity>(filter, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            // A row only a checkpoint wrote so far gets its job's details at the next progress flush, a second later.
            if (row.GetString("JobId") is not { } jobId)
            {
                continue;
            }

            running.Add(new JobResult
            {
                Id = jobId,
                Type = row.GetString("Type") ?? string.Empty,
                Status = JobStatus.Running,
                Attempts = row.GetInt32("Attempt") ?? 0,
                StartedAt = row.GetDateTimeOffset("StartedAt"),
                Worker = row.GetString("Worker"),
                Progress = new JobProgress
                {
                    Value = row.GetDouble("Value"),
                    Message = row.GetString("Message") is { Length: > 0 } message ? message : null,
                    ReportedAt = row.GetDateTimeOffset("ReportedAt"),
                },
            });
        }

        return running;
    }

    private static TableEntity ToEntity(string batchId, JobProgressRow row)
    {
        var entity = new TableEntity(batchId, RowKey(row.Index))
        {
            ["JobId"] = row.JobId,
            ["Type"] = row.Type,
            ["Attempt"] = row.Attempt,
            ["Message"] = row.Message ?? string.Empty, // a merge keeps what it is not given: an empty message replaces the last one
        };
        Set(entity, "StartedAt", row.StartedAt);
        Set(entity, "ReportedAt", row.ReportedAt);
        Set(entity, "Value", row.Value);
        Set(entity, "Worker", row.Worker);
        TableEntityLimits.ThrowIfExceeded(entity);
        return entity;
    }

    private static void Set(TableEntity entity, string name, object? value)
    {
        if (value is not null)
        {
            entity[name] = value;
        }
    }

    private static string RowKey(int index) => RowPrefix + index.ToString("D9", CultureInfo.InvariantCulture);

    private static int IndexOf(string rowKey) => int.Parse(rowKey.AsSpan(RowPrefix.Length), CultureInfo.InvariantCulture);
}
