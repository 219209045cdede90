using System.Net;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Hooks;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Tests.Hooks;

public sealed class HookValidationTests
{
    private static readonly HookOptions Production = new() { Secret = "s" };
    private static readonly HookOptions Development = new() { Secret = "s", AllowLoopbackHttp = true };

    [Theory]
    [InlineData("https://hooks.example.com/done")]
    [InlineData("https://hooks.example.com:8443/done?x=1")]
    [InlineData("https://93.184.216.34/done")]
    public void PublicHttpsWebhook_IsAccepted(string url) =>
        Assert.Empty(Problems(new CompletionHook { Webhook = url }, Production));

    [Theory]
    [InlineData("http://hooks.example.com/done")] // plain http beyond loopback, even in development
    [InlineData("ftp://hooks.example.com/done")]
    [InlineData("/relative")]
    [InlineData("not a url")]
    [InlineData("https://user:pass@hooks.example.com/done")]
    [InlineData("https://10.1.2.3/done")]
    [InlineData("https://172.16.0.1/done")]
    [InlineData("https://172.31.255.255/done")]
    [InlineData("https://192.168.1.1/done")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://100.64.0.1/done")]
    [InlineData("https://0.0.0.0/done")]
    [InlineData("https://[fd00::1]/done")]
    [InlineData("https://[fe80::1]/done")]
    [InlineData("https://[::ffff:10.0.0.1]/done")]
    [InlineData("https://127.0.0.1/done")]
    [InlineData("https://localhost/done")]
    [InlineData("http://127.0.0.1:8080/done")] // loopback http: development only
    public void DisallowedWebhook_IsRefused_NamingOnCompleteWebhook(string url)
    {
        ValidationProblem problem = Assert.Single(Problems(new CompletionHook { Webhook = url }, Production));
        Assert.Equal("onComplete.webhook", problem.Path);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/done")]
    [InlineData("http://localhost:8080/done")]
    [InlineData("http://[::1]:8080/done")]
    [InlineData("https://localhost/done")]
    public void LoopbackWebhook_IsAcceptedInDevelopment(string url) =>
        Assert.Empty(Problems(new CompletionHook { Webhook = url }, Development));

    [Theory]
    [InlineData("http://10.0.0.5/done")]
    [InlineData("http://192.168.1.1/done")]
    public void PlainHttpToAPrivateAddress_IsRefusedInDevelopmentToo(string url) =>
        Assert.Equal("onComplete.webhook", Assert.Single(Problems(new CompletionHook { Webhook = url }, Development)).Path);

    [Theory]
    [InlineData("https://10.1.2.3/done")]
    [InlineData("https://[fd00::1]/done")]
    [InlineData("https://127.0.0.1/done")]
    public void PrivateHttpsWebhook_IsAcceptedWhenPrivateNetworksAreAllowed(string url) =>
        Assert.Empty(Problems(new CompletionHook { Webhook = url }, new HookOptions { Secret = "s", AllowPrivateNetworks = true }));

    [Fact]
    public void Webhook_WithoutAConfiguredSecret_IsRefused_SayingWhichSetting()
    {
        ValidationProblem problem = Assert.Single(Problems(new CompletionHook { Webhook = "https://hooks.example.com/done" }, new HookOptions()));
        Assert.Equal("onComplete.webhook", problem.Path);
        Assert.Contains("DurableJobs:Hooks:Secret", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QueueOnly_NeedsNoSecret() =>
        Assert.Empty(Problems(new CompletionHook { Queue = "batches-done" }, new HookOptions()));

    [Theory]
    [InlineData("ab")]
    [InlineData("Batches")]
    [InlineData("-done")]
    [InlineData("done-")]
    [InlineData("a--b")]
    [InlineData("done_queue")]
    public void BadQueueName_IsRefused_NamingOnCompleteQueue(string queue) =>
        Assert.Equal("onComplete.queue", Assert.Single(Problems(new CompletionHook { Queue = queue }, Production)).Path);

    [Fact]
    public void OnCompleteWithNeitherWebhookNorQueue_IsRefused() =>
        Assert.Equal("onComplete", Assert.Single(Problems(new CompletionHook(), Production)).Path);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(604_801)]
    public void DeliveryDeadlineOutsideZeroToSevenDays_IsRefused(double seconds) =>
        Assert.Equal("onComplete.deadlineSeconds", Assert.Single(Problems(new CompletionHook { Queue = "done", DeadlineSeconds = seconds }, Production)).Path);

    [Fact]
    public void NextBatch_IsValidatedAsABatch_WithItsProblemsKeyedUnderNextBatch()
    {
        BatchRequest request = Parse("""{"batchId":"a","jobs":[{"type":"echo"}],"next":{"batch":{"maxParallel":0,"jobs":[{"type":"nope"}]}}}""");
        ValidationResult result = Validator(Production).Validate(request);
        Assert.Equal(["next.batch.jobs[0].type", "next.batch.maxParallel"], result.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void NextBatch_IsRequired_AndMayNotReuseTheBatchId()
    {
        Assert.Equal("next.batch", Assert.Single(Validator(Production).Validate(Parse("""{"jobs":[{"type":"echo"}],"next":{}}""")).Problems).Path);
        Assert.Equal("next.batch.batchId", Assert.Single(Validator(Production).Validate(
            Parse("""{"batchId":"a","jobs":[{"type":"echo"}],"next":{"batch":{"batchId":"a","jobs":[{"type":"echo"}]}}}""")).Problems).Path);
    }

    [Fact]
    public void NextBatchDefaultId_LongerThanTheIdLimit_AsksForAnId()
    {
        string id = new('a', 98);
        BatchRequest request = Parse("""{"batchId":"ID","jobs":[{"type":"echo"}],"next":{"batch":{"jobs":[{"type":"echo"}]}}}""".Replace("ID", id, StringComparison.Ordinal));
        Assert.Equal("next.batch.batchId", Assert.Single(Validator(Production).Validate(request).Problems).Path);
        Assert.Equal(id + ".next", request.Next!.IdAfter(id));
    }

    [Theory]
    [InlineData("8.8.8.8", false)]
    [InlineData("2001:4860:4860::8888", false)]
    [InlineData("10.0.0.1", true)]
    [InlineData("172.15.255.255", false)]
    [InlineData("172.16.0.0", true)]
    [InlineData("172.32.0.0", false)]
    [InlineData("100.63.255.255", false)]
    [InlineData("100.64.0.0", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("::", true)]
    [InlineData("fc00::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("::ffff:192.168.0.1", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    [InlineData("64:ff9b::a00:1", true)] // NAT64 of 10.0.0.1
    public void PrivateAddresses_AreRecognised(string address, bool isPrivate) =>
        Assert.Equal(isPrivate, HookTargets.IsPrivate(IPAddress.Parse(address)));

    [Fact]
    public void ARequestWithoutHooks_SerialisesWithoutTheirFields()
    {
        // A schedule's stored template must replay as written: absent hooks are not written as nulls.
        string json = JsonSerializer.Serialize(new BatchRequest { Jobs = [new JobSpec { Type = "echo" }] }, new JsonSerializerOptions(DurableJobsJson.Options) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never });
        Assert.DoesNotContain("onComplete", json, StringComparison.Ordinal);
        Assert.DoesNotContain("next", json, StringComparison.Ordinal);
    }

    private static BatchValidator Validator(HookOptions hooks) => new(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns(), hooks: hooks);

    private static BatchRequest Parse(string json) => JsonSerializer.Deserialize<BatchRequest>(json, DurableJobsJson.Options)!;

    private static IReadOnlyList<ValidationProblem> Problems(CompletionHook hook, HookOptions options) =>
        Validator(options).Validate(new BatchRequest { Jobs = [new JobSpec { Type = "echo" }], OnComplete = hook }).Problems;
}
