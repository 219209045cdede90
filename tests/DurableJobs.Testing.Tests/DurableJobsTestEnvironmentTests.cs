using System.ComponentModel.DataAnnotations;
using System.Net.Sockets;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Model;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Testing.Tests;

public sealed class DurableJobsTestEnvironmentTests
{
    [Fact]
    public async Task An_environment_runs_a_batch_of_the_tests_own_handler_with_its_services_and_leaves_nothing_running()
    {
        string connection;
        await using (DurableJobsTestEnvironment env = await DurableJobsTestEnvironment.StartAsync(jobs =>
        {
            jobs.Services.AddSingleton(new PriceList(new Dictionary<string, decimal> { ["apple"] = 0.5m, ["pear"] = 0.75m }));
            jobs.AddHandler<QuoteHandler>("quote");
        }))
        {
            connection = env.ConnectionString;
            BatchOutcome outcome = await env.RunAsync(new BatchRequest
            {
                MaxParallel = 2,
                Jobs =
                [
                    Job("a", new { item = "apple", quantity = 4 }),
                    Job("p", new { item = "pear", quantity = 2 }),
                    Job("unknown", new { item = "plum", quantity = 1 }),
                ],
            });

            Assert.Equal(BatchStatus.Completed, outcome.View.Status);
            Assert.Equal(2m, outcome.Job("a").Output!.Value.GetProperty("total").GetDecimal());
            Assert.Equal(1.5m, outcome.Job("p").Output!.Value.GetProperty("total").GetDecimal());
            Assert.Equal((JobStatus.Failed, "no price for plum"), (outcome.Job("unknown").Status, outcome.Job("unknown").Error!.Message));

            // A payload its handler cannot take is refused with the batch, naming the field.
            ArgumentException refused = await Assert.ThrowsAsync<ArgumentException>(() =>
                env.RunAsync(new BatchRequest { Jobs = [Job("invalid", new { item = "apple", quantity = 0 })] }));
            Assert.Contains("jobs[0].payload.quantity", refused.Message, StringComparison.Ordinal);
        }

        // Disposed: its emulator no longer answers.
        int port = new Uri(connection.Split(';').Single(p => p.StartsWith("BlobEndpoint=", StringComparison.Ordinal))["BlobEndpoint=".Length..]).Port;
        using var probe = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", port));
    }

    private static JobSpec Job(string id, object payload) => new() { Id = id, Type = "quote", Payload = JsonSerializer.SerializeToElement(payload) };
}

public sealed record QuoteRequest([property: Required] string Item, [property: Range(1, 1_000)] int Quantity);

public sealed record Quote(string Item, decimal Total);

public sealed class PriceList(IReadOnlyDictionary<string, decimal> prices)
{
    public decimal? PriceOf(string item) => prices.TryGetValue(item, out decimal price) ? price : null;
}

/// <summary>A handler with an injected service, as a team writes one.</summary>
public sealed class QuoteHandler(PriceList prices) : IJobHandler<QuoteRequest, Quote>
{
    public ValueTask<Quote> ExecuteAsync(JobContext context, QuoteRequest payload, CancellationToken cancellationToken) =>
        prices.PriceOf(payload.Item) is { } price
            ? ValueTask.FromResult(new Quote(payload.Item, price * payload.Quantity))
            : throw new InvalidOperationException($"no price for {payload.Item}");
}
