using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Limits;

namespace DurableJobs.Engine.Limits;

/// <summary>
/// Named limits as rows of one table (<c>{hub}Limits</c>), one row per limit, replaced only with
/// <c>If-Match: ETag</c>: two workers growing their leases at once cannot both win, so the leases never sum past the
/// limit. The leases are a small JSON column (a holder per worker process, so far below the 64 KB property limit).
/// </summary>
internal sealed class TableLimitStore(TableClient table) : ILimitStore
{
    private const string Partition = "limit";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private int created;

    public async Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        NullableResponse<TableEntity> found = await table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? FromEntity(found.Value!) : null;
    }

    public async Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        TableEntity entity = ToEntity(row);
        try
        {
            Response response = row.ETag is null
                ? await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false)
                : await table.UpdateEntityAsync(entity, new ETag(row.ETag), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return row with { ETag = response.Headers.ETag?.ToString() };
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<LimitRow>();
        await foreach (TableEntity entity in table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(FromEntity(entity));
        }

        return rows;
    }

    private async ValueTask EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref created) == 0)
        {
            await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref created, 1);
        }
    }

    internal static TableEntity ToEntity(LimitRow row)
    {
        var entity = new TableEntity(Partition, row.Name)
        {
            ["Leases"] = JsonSerializer.Serialize(row.Leases, Json),
            ["Tokens"] = row.Tokens,
            ["TokensAt"] = row.TokensAt,
        };
        if (row.Settings.MaxConcurrent is { } max)
        {
            entity["MaxConcurrent"] = max;
        }

        if (row.Settings.RatePerSecond is { } rate)
        {
            entity["RatePerSecond"] = rate;
        }

        if (row.Settings.Burst is { } burst)
        {
            entity["Burst"] = burst;
        }

        // The adaptive state only while the limit is cut or counting: an uncut row stays as it was.
        if (row.Effective is { } effective)
        {
            entity["Effective"] = effective;
        }

        if (row.CutAt is { } cutAt)
        {
            entity["CutAt"] = cutAt;
        }

        if (row.Clean > 0)
        {
            entity["Clean"] = row.Clean;
        }

        return entity;
    }

    internal static LimitRow FromEntity(TableEntity entity) => new()
    {
        Name = entity.RowKey,
        Settings = new LimitSettings
        {
            MaxConcurrent = entity.GetInt32("MaxConcurrent"),
            RatePerSecond = entity.GetDouble("RatePerSecond"),
            Burst = entity.GetDouble("Burst"),
        },
        Leases = JsonSerializer.Deserialize<Dictionary<string, LimitLease>>(entity.GetString("Leases") ?? "{}", Json) ?? [],
        Tokens = entity.GetDouble("Tokens") ?? 0,
        TokensAt = entity.GetDateTimeOffset("TokensAt") ?? DateTimeOffset.MinValue,
        Effective = entity.GetInt32("Effective"),
        CutAt = entity.GetDateTimeOffset("CutAt"),
        Clean = entity.GetInt32("Clean") ?? 0,
        ETag = entity.ETag.ToString(),
    };
}
