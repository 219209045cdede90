using System.Net;
using DurableJobs.Host.Web;

namespace DurableJobs.Api.Tests;

[Collection(StorageCollection.Name)]
public sealed class ApiKeyTests(EmulatorFixture storage)
{
    private const string Key = "test-key-not-a-secret";

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://*:7071")]
    [InlineData("http://+:7071")]
    [InlineData("http://[::]:7071")]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0")]
    public void Listening_beyond_loopback_without_a_key_refuses_to_start(string urls)
    {
        var settings = RunningHost.Settings(storage.ConnectionString, "ApiKeyRefused", new Dictionary<string, string?> { ["urls"] = urls });
        var error = Assert.Throws<InvalidOperationException>(() => EmbeddedWebHost.Build([], settings));
        Assert.Contains(EmbeddedWebHost.ApiKeySetting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loopback_without_a_key_is_allowed_and_is_the_default()
    {
        Assert.Equal([EmbeddedWebHost.DefaultUrl], EmbeddedWebHost.ListenUrls(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()));
        Assert.True(BindingRules.AllLoopback(["http://127.0.0.1:7071", "http://localhost:5000", "http://[::1]:80", "http://127.0.0.2:1"]));
        Assert.False(BindingRules.IsLoopback("http://example.invalid:80"));
    }

    [Fact]
    public async Task Off_loopback_with_a_key_every_request_needs_it()
    {
        var settings = RunningHost.Settings(storage.ConnectionString, "ApiKeyTests", new Dictionary<string, string?>
        {
            ["urls"] = "http://0.0.0.0:0",
            [EmbeddedWebHost.ApiKeySetting] = Key,
            ["DurableJobs:RunWorker"] = "false",
        });
        await using RunningHost host = await RunningHost.StartAsync(settings);

        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches"), HttpStatusCode.Unauthorized, "api-key-required");
        await Problems.AssertAsync(await host.Http.GetAsync("/api/healthz"), HttpStatusCode.Unauthorized, "api-key-required");
        await Problems.AssertAsync(await host.Http.GetAsync("/api/batches?code=wrong"), HttpStatusCode.Unauthorized, "api-key-required");
        await Problems.AssertAsync(await host.Http.PostAsync("/api/batches", new StringContent("{}")), HttpStatusCode.Unauthorized, "api-key-required");

        using var withHeader = new HttpRequestMessage(HttpMethod.Get, "/api/batches");
        withHeader.Headers.Add(ApiKeyMiddleware.HeaderName, Key);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.SendAsync(withHeader)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync($"/api/healthz?code={Key}")).StatusCode);

        using var wrongHeader = new HttpRequestMessage(HttpMethod.Get, "/api/batches");
        wrongHeader.Headers.Add(ApiKeyMiddleware.HeaderName, Key + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.SendAsync(wrongHeader)).StatusCode);
    }
}
