using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// Who owns the task hub's control-queue partitions, as Durable Task records it: the table partition manager keeps a
/// row per partition in <c>{hub}Partitions</c> (CurrentOwner), the blob one a blob per partition under
/// <c>{hub}-leases/default/</c> (Owner). Owners are the engine's worker ids (machine:pid).
/// </summary>
public sealed class PartitionLeases(string connectionString, string hubName)
{
    private readonly TableClient table = new(connectionString, hubName + "Partitions");
    private readonly BlobContainerClient container = new(connectionString, hubName.ToLowerInvariant() + "-leases");

    /// <summary>Partition to owner (null when unowned).</summary>
    public async Task<Dictionary<string, string?>> OwnersAsync()
    {
        var owners = new Dictionary<string, string?>(StringComparer.Ordinal);
        try
        {
            await foreach (TableEntity row in table.QueryAsync<TableEntity>())
            {
                owners[row.RowKey] = row.GetString("CurrentOwner") is { Length: > 0 } owner ? owner : null;
            }

            return owners;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No partitions table: the blob partition manager.
        }

        await foreach (BlobItem blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, "default/", CancellationToken.None))
        {
            BlobDownloadResult content = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value;
            using JsonDocument lease = JsonDocument.Parse(content.Content.ToMemory());
            owners[blob.Name] = lease.RootElement.TryGetProperty("Owner", out JsonElement owner) && owner.ValueKind == JsonValueKind.String ? owner.GetString() : null;
        }

        return owners;
    }
}
