using DurableJobs.Core.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Testing.Tests;

public sealed class JobHandlerTesterTests
{
    private static readonly Action<IServiceCollection> Prices = s => s.AddSingleton(new PriceList(new Dictionary<string, decimal> { ["apple"] = 0.5m }));

    [Fact]
    public async Task A_handler_runs_without_storage_with_its_services_and_returns_its_output()
    {
        Quote? quote = await JobHandlerTester.RunAsync<QuoteHandler, Quote>(new { item = "apple", quantity = 3 }, Prices);
        Assert.Equal(new Quote("apple", 1.5m), quote);
    }

    [Fact]
    public async Task A_payload_that_does_not_bind_throws_what_a_worker_would_record()
    {
        JobPayloadException error = await Assert.ThrowsAsync<JobPayloadException>(() => JobHandlerTester.RunAsync<QuoteHandler>(new { item = "apple", quantity = "three" }, Prices));
        Assert.Contains("'quantity'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_service_is_reported_not_hidden()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => JobHandlerTester.RunAsync<QuoteHandler>(new { item = "apple", quantity = 1 }));
    }
}
