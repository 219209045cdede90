using System.Diagnostics;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Core.Tests.Handlers;

public sealed class BuiltInHandlerTests
{
    private static readonly IServiceProvider NoServices = new ServiceCollection().BuildServiceProvider();
    private readonly JobHandlerRegistry registry = JobHandlerRegistry.CreateWithBuiltIns();

    [Fact]
    public async Task Registry_HoldsTheFourBuiltIns_AndRefusesDuplicates()
    {
        Assert.Equal(["delay", "echo", "fail", "hash"], registry.Types.Order(StringComparer.Ordinal));
        Assert.Throws<ArgumentException>(() => registry.Add<EchoJobHandler>("echo"));
        await Assert.ThrowsAsync<KeyNotFoundException>(async () => await Run("nope", "{}"));
    }

    [Fact]
    public async Task Delay_WaitsTheGivenTime()
    {
        var sw = Stopwatch.StartNew();
        JsonElement? output = await Run("delay", """{"ms":100}""");
        Assert.True(sw.ElapsedMilliseconds >= 95, $"{sw.ElapsedMilliseconds} ms");
        Assert.Equal(100, output!.Value.GetProperty("sleptMs").GetInt32());
    }

    [Fact]
    public async Task Delay_StopsWhenTheTokenIsCancelled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run("delay", """{"ms":30000}""", cancellationToken: cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Delay_RejectsANegativeDuration()
    {
        var error = await Assert.ThrowsAsync<JobPayloadException>(() => Run("delay", """{"ms":-1}"""));
        Assert.Contains("'ms'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public async Task Fail_FailsTheFirstNAttempts_ThenSucceeds(int attempt, bool succeeds)
    {
        Task run = Run("fail", """{"failTimes":2,"message":"flaky backend"}""", attempt);
        if (succeeds)
        {
            await run;
        }
        else
        {
            var error = await Assert.ThrowsAsync<JobFailedOnPurposeException>(() => run);
            Assert.Equal("flaky backend", error.Message);
        }
    }

    [Fact]
    public async Task Fail_WithoutFailTimes_AlwaysFails()
    {
        await Assert.ThrowsAsync<JobFailedOnPurposeException>(() => Run("fail", "{}", attempt: 50));
    }

    [Fact]
    public async Task Hash_IsDeterministic_AndDependsOnIterations()
    {
        JsonElement? a = await Run("hash", """{"iterations":1000}""");
        JsonElement? b = await Run("hash", """{"iterations":1000}""");
        JsonElement? c = await Run("hash", """{"iterations":1001}""");
        string hashA = a!.Value.GetProperty("sha256").GetString()!;
        Assert.Equal(64, hashA.Length);
        Assert.Equal(hashA, b!.Value.GetProperty("sha256").GetString());
        Assert.NotEqual(hashA, c!.Value.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Hash_ChecksTheTokenBetweenRounds()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Run("hash", $$"""{"iterations":{{HashJobHandler.MaxIterations}}}""", cancellationToken: cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    public static TheoryData<string, string, string, string> InputsBeyondTheBounds() => new()
    {
        { "hash", """{"iterations":9000000000000000000}""", "iterations", "at most 100000000" },
        { "hash", """{"iterations":100000001}""", "iterations", "at most 100000000" },
        { "delay", """{"ms":604800001}""", "ms", "at most 604800000" },
        { "delay", """{"ms":9000000000000000000}""", "ms", "at most 604800000" },
        { "fail", """{"failTimes":1001}""", "failTimes", "at most 1000" },
        { "fail", $$"""{"message":"{{new string('x', 1001)}}"}""", "message", "at most 1000 characters" },
    };

    [Theory]
    [MemberData(nameof(InputsBeyondTheBounds))]
    public async Task Inputs_beyond_a_built_in_handlers_bound_are_refused_before_any_work(string type, string payload, string field, string words)
    {
        // A 2 s token: an unbounded handler would start the work (hashing, waiting) and be cancelled instead.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        using JsonDocument doc = JsonDocument.Parse(payload);
        JobPayloadException checkedAtSubmission = Assert.Throws<JobPayloadException>(() => registry.ValidatePayload(NoServices, type, doc.RootElement));
        JobPayloadException checkedAtRun = await Assert.ThrowsAsync<JobPayloadException>(() => Run(type, payload, cancellationToken: cts.Token));

        Assert.Equal(field, checkedAtSubmission.Field);
        Assert.Contains(words, checkedAtSubmission.Message, StringComparison.Ordinal);
        Assert.Equal(checkedAtSubmission.Message, checkedAtRun.Message);
    }

    [Theory]
    [InlineData("hash", """{"iterations":100000000}""")]
    [InlineData("delay", """{"ms":604800000}""")]
    [InlineData("fail", """{"failTimes":1000,"message":"ok"}""")]
    [InlineData("echo", """{"anything":[1,2,3]}""")]
    [InlineData("hash", "null")]
    public void Inputs_at_a_built_in_handlers_bound_pass_the_submission_check(string type, string payload)
    {
        using JsonDocument doc = JsonDocument.Parse(payload);
        registry.ValidatePayload(NoServices, type, doc.RootElement);
    }

    [Fact]
    public async Task Echo_ReturnsItsPayload()
    {
        JsonElement? output = await Run("echo", """{"greeting":"hello","n":[1,2]}""");
        Assert.Equal("""{"greeting":"hello","n":[1,2]}""", output!.Value.GetRawText());
    }

    [Fact]
    public void Context_IdempotencyKey_IsStableAcrossAttempts()
    {
        Assert.Equal(new JobContext("b", "j", 1).IdempotencyKey, new JobContext("b", "j", 7).IdempotencyKey);
        Assert.Equal("b/j", new JobContext("b", "j", 1).IdempotencyKey);
    }

    private async Task<JsonElement?> Run(string type, string payload, int attempt = 1, CancellationToken cancellationToken = default)
    {
        using JsonDocument doc = JsonDocument.Parse(payload);
        return await registry.InvokeAsync(NoServices, type, new JobContext("batch", "job", attempt), doc.RootElement.Clone(), cancellationToken);
    }
}
