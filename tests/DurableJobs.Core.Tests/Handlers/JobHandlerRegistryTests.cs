using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Core.Tests.Handlers;

public sealed class JobHandlerRegistryTests
{
    private readonly JobHandlerRegistry registry = new JobHandlerRegistry()
        .Add<ResizeHandler>("resize")
        .Add<CountingHandler>("count");

    [Fact]
    public async Task A_typed_handler_gets_its_payload_bound_and_its_result_serialised()
    {
        JsonElement? output = await Invoke("resize", """{"width":640,"height":480,"format":"png"}""");
        Assert.Equal("640x480.png", output!.Value.GetProperty("name").GetString());
        Assert.Equal(307_200, output.Value.GetProperty("pixels").GetInt32());
    }

    [Theory]
    [InlineData("""{"width":"wide","height":480}""", "'width'")]
    [InlineData("""{"width":640,"height":480,"colour":"red"}""", "colour")]
    [InlineData("""{"width":0,"height":480}""", "'width'")]
    [InlineData("""{"height":480}""", "'width'")]
    [InlineData("""null""", "Payload is required")]
    [InlineData("""[1,2]""", "(payload)")]
    public async Task A_payload_that_does_not_bind_is_a_JobPayloadException_naming_the_field(string payload, string named)
    {
        JobPayloadException error = await Assert.ThrowsAsync<JobPayloadException>(async () => await Invoke("resize", payload));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_invocation_resolves_the_handler_from_the_scope_it_is_given()
    {
        await using ServiceProvider services = new ServiceCollection().AddScoped<CountingHandler>().AddScoped<Counter>().BuildServiceProvider();
        var seen = new List<Guid>();
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            await using AsyncServiceScope scope = services.CreateAsyncScope();
            JsonElement? output = await registry.InvokeAsync(scope.ServiceProvider, "count", new JobContext("b", "j", attempt), default, CancellationToken.None);
            seen.Add(output!.Value.GetProperty("counter").GetGuid());
            Assert.Equal(1, output.Value.GetProperty("calls").GetInt32());
        }

        Assert.Equal(3, seen.Distinct().Count());
    }

    [Fact]
    public void Registration_refuses_duplicates_bad_names_and_classes_that_are_not_handlers()
    {
        Assert.Throws<ArgumentException>(() => registry.Add<ResizeHandler>("resize"));
        Assert.Throws<ArgumentException>(() => registry.Add<ResizeHandler>(" "));
        Assert.Throws<ArgumentException>(() => registry.Add<ResizeHandler>("bad\nname"));
        Assert.Throws<ArgumentException>(() => registry.Add<Counter>("not-a-handler"));
        Assert.Throws<ArgumentException>(() => registry.Add<BothKinds>("both"));
        Assert.Equal(["count", "resize"], registry.Types.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_unknown_type_is_a_KeyNotFoundException()
    {
        await Assert.ThrowsAsync<KeyNotFoundException>(async () => await Invoke("nope", "{}"));
    }

    private async Task<JsonElement?> Invoke(string type, string payload)
    {
        await using ServiceProvider services = new ServiceCollection().AddScoped<Counter>().BuildServiceProvider();
        using JsonDocument doc = JsonDocument.Parse(payload);
        return await registry.InvokeAsync(services, type, new JobContext("b", "j", 1), doc.RootElement.Clone(), CancellationToken.None);
    }

    public sealed record ResizePayload([property: Range(1, 10_000)] int Width, [property: Range(1, 10_000)] int Height, string Format = "jpg");

    public sealed record ResizeResult(string Name, int Pixels);

    public sealed class ResizeHandler : IJobHandler<ResizePayload, ResizeResult>
    {
        public ValueTask<ResizeResult> ExecuteAsync(JobContext context, ResizePayload payload, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new ResizeResult($"{payload.Width}x{payload.Height}.{payload.Format}", payload.Width * payload.Height));
    }

    public sealed class Counter
    {
        public Guid Id { get; } = Guid.NewGuid();

        public int Calls { get; set; }
    }

    public sealed class CountingHandler(Counter counter) : IJobHandler
    {
        public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
        {
            counter.Calls++;
            return ValueTask.FromResult<JsonElement?>(JsonSerializer.SerializeToElement(new { counter = counter.Id, calls = counter.Calls }));
        }
    }

    public sealed class BothKinds : IJobHandler, IJobHandler<int, int>
    {
        public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken) => default;

        public ValueTask<int> ExecuteAsync(JobContext context, int payload, CancellationToken cancellationToken) => default;
    }
}
