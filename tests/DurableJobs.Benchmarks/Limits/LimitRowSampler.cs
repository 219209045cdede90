using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace DurableJobs.Benchmarks.Limits;

/// <summary>
/// Reads a limit's row every <see cref="Interval"/> while a run lasts and keeps what the leases said: how many permits
/// the workers held and how many more they asked for. Beside the jobs' own times this tells where the limit's idle
/// time goes — permits leased to a worker with no job to give them to, or permits free while a worker waits for them.
/// </summary>
internal sealed class LimitRowSampler : IAsyncDisposable
{
    /// <summary>How often the row is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>The limits table of the hub.</summary>
    private readonly TableClient table;

    /// <summary>The limit's row key.</summary>
    private readonly string name;

    /// <summary>Stops the loop.</summary>
    private readonly CancellationTokenSource stop = new();

    /// <summary>The samples so far (appended only by the loop).</summary>
    private readonly List<LimitRowSample> samples = [];

    /// <summary>The reading loop.</summary>
    private readonly Task loop;

    private LimitRowSampler(string connection, string hub, string name)
    {
        table = new TableClient(connection, $"{hub}Limits");
        this.name = name;
        loop = Task.Run(RunAsync);
    }

    public static LimitRowSampler Start(string connection, string hub, string name) => new(connection, hub, name);

    /// <summary>Stops reading and returns the samples.</summary>
    public async Task<IReadOnlyList<LimitRowSample>> StopAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        return samples;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                try
                {
                    Response<TableEntity> row = await table.GetEntityAsync<TableEntity>("limit", name, cancellationToken: stop.Token).ConfigureAwait(false);
                    samples.Add(Parse(row.Value, DateTimeOffset.UtcNow));
                }
                catch (RequestFailedException)
                {
                    // Not written yet, or the table not created: nothing held.
                }
            }
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static LimitRowSample Parse(TableEntity entity, DateTimeOffset at)
    {
        int leased = 0, wanted = 0, waitingWorkers = 0;
        using JsonDocument leases = JsonDocument.Parse(entity.GetString("Leases") ?? "{}");
        foreach (JsonProperty lease in leases.RootElement.EnumerateObject())
        {
            if (lease.Value.GetProperty("x").GetDateTimeOffset() <= at)
            {
                continue;
            }

            leased += lease.Value.GetProperty("p").GetInt32();
            int want = lease.Value.GetProperty("w").GetInt32();
            wanted += want;
            waitingWorkers += want > 0 ? 1 : 0;
        }

        return new LimitRowSample(at, leased, wanted, waitingWorkers);
    }
}

/// <summary>One reading of a limit's row: permits leased, more asked for, and by how many workers.</summary>
internal sealed record LimitRowSample(DateTimeOffset At, int Leased, int Wanted, int WaitingWorkers);
