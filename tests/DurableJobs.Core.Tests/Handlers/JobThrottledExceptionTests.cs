using System.Text.Json;
using DurableJobs.Core.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Core.Tests.Handlers;

public sealed class JobThrottledExceptionTests
{
    [Fact]
    public void RetryAfter_from_0_to_1_hour_is_kept_and_outside_it_is_refused()
    {
        Assert.Equal(TimeSpan.Zero, new JobThrottledException(TimeSpan.Zero).RetryAfter);
        Assert.Equal(TimeSpan.FromHours(1), new JobThrottledException(TimeSpan.FromHours(1), "busy").RetryAfter);
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobThrottledException(TimeSpan.FromMilliseconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JobThrottledException(TimeSpan.FromHours(1) + TimeSpan.FromTicks(1)));
        Assert.Contains("2.5 s", new JobThrottledException(TimeSpan.FromSeconds(2.5)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delay_with_throttleAbove_2_runs_2_at_once_and_throttles_the_third_with_its_retryAfterMs_of_250()
    {
        JobHandlerRegistry registry = JobHandlerRegistry.CreateWithBuiltIns();
        IServiceProvider services = new ServiceCollection().BuildServiceProvider();
        using JsonDocument doc = JsonDocument.Parse("""{"ms":1000,"throttleAbove":2,"retryAfterMs":250}""");
        Task Run() => registry.InvokeAsync(services, "delay", new JobContext("batch", "job", 1), doc.RootElement, default).AsTask();

        Task[] running = [Run(), Run()];
        JobThrottledException refused = await Assert.ThrowsAsync<JobThrottledException>(Run);
        Assert.Equal(TimeSpan.FromMilliseconds(250), refused.RetryAfter);
        await Task.WhenAll(running);

        // The two ended: the downstream takes calls again.
        await Run();
    }
}
