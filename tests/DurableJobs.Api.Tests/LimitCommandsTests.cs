using System.Text.Json;
using DurableJobs.Host.Cli;

namespace DurableJobs.Api.Tests;

public sealed class LimitCommandsTests
{
    [Fact]
    public void A_row_shows_max_effective_in_use_waiting_workers_and_batches_rate_burst_and_leases()
    {
        using JsonDocument page = JsonDocument.Parse("""
            {"items":[{"name":"payments","maxConcurrent":20,"effective":12,"ratePerSecond":100,"burst":100,"inUse":9,"waitingWorkers":2,"waitingBatches":3,
                       "leases":[{"worker":"w1","permits":5,"want":1,"expiresAt":"2026-12-01T12:00:10Z"},{"worker":"w2","permits":4,"want":0,"expiresAt":"2026-12-01T12:00:10Z"}]}]}
            """);

        string[] row = Assert.Single(LimitCommands.Rows(page.RootElement));

        Assert.Equal(LimitCommands.Columns.Length, row.Length);
        Assert.Equal(["payments", "20", "12", "9", "2", "3", "100", "100", "w1=5, w2=4"], row);
    }

    [Fact]
    public void Fields_an_older_host_or_a_rate_only_limit_does_not_send_show_as_a_dash()
    {
        using JsonDocument page = JsonDocument.Parse("""{"items":[{"name":"db","ratePerSecond":2.5,"inUse":0,"waitingWorkers":0,"leases":[]},{"name":"old","maxConcurrent":4}]}""");

        string[][] rows = LimitCommands.Rows(page.RootElement).ToArray();

        Assert.Equal(["db", "-", "-", "0", "0", "-", "2.5", "-", "-"], rows[0]);
        Assert.Equal(["old", "4", "-", "-", "-", "-", "-", "-", "-"], rows[1]);
    }
}
