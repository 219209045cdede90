using System.Globalization;
using Azure;
using Azure.Data.Tables;
using DurableJobs.Orchestration.Signals;

namespace DurableJobs.Engine.Signals;

/// <summary>
/// Lane hand-overs in the task hub's signals table, beside the cancel rows: one row per finished chunk (in the
/// batch's partition), written once and read by point lookups, so a wait costs one small read per poll.
/// </summary>
public sealed class TableLaneHandover(TableClient table) : ILaneHandover
{
    /// <summary>Set once the table is known to exist.</summary>
    private volatile bool tableReady;

    /// <inheritdoc />
    public async Task MarkFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await table.AddEntityAsync(new TableEntity(batchId, RowKey(lane, sequence)), cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // A redelivered chunk finishing again: the row is already there.
        }
    }

    /// <inheritdoc />
    public async Task<bool> IsFinishedAsync(string batchId, string lane, int sequence, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        NullableResponse<TableEntity> row = await table.GetEntityIfExistsAsync<TableEntity>(batchId, RowKey(lane, sequence), select: ["PartitionKey"], cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue;
    }

    private static string RowKey(string lane, int sequence) => string.Create(CultureInfo.InvariantCulture, $"lane-{lane}-{sequence:D9}");

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!tableReady)
        {
            await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            tableReady = true;
        }
    }
}
