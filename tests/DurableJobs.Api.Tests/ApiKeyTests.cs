using System.Net;
using DurableJobs.Host.Web;
using DurableJobs.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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

    [Fact]
    public async Task A_listen_url_that_kestrel_reads_as_every_interface_is_refused_once_bound()
    {
        // Uri reads the host as 127.0.0.1 (and "?:0" as a query); Kestrel reads the host as "127.0.0.1?", a name, and binds every interface.
        var settings = RunningHost.Settings(storage.ConnectionString, "ApiKeyRefused", new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1?:0",
            ["DurableJobs:RunWorker"] = "false",
        });
        Exception? error = null;
        try
        {
            await using RunningHost started = await RunningHost.StartAsync(settings);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        Assert.IsType<InvalidOperationException>(error);
        Assert.Contains(EmbeddedWebHost.ApiKeySetting, error.Message, StringComparison.Ordinal);
        Assert.Contains("[::]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_in_the_query_string_never_reaches_the_request_log()
    {
        var settings = RunningHost.Settings(storage.ConnectionString, "ApiKeyTests", new Dictionary<string, string?>
        {
            [EmbeddedWebHost.ApiKeySetting] = Key,
            ["DurableJobs:RunWorker"] = "false",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
            ["Logging:LogLevel:DurableJobs"] = "Debug",
        });
        await using RunningHost host = await RunningHost.StartAsync(settings);
        var logs = new CapturedLogs();
        host.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);

        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync($"/api/batches?top=5&code={Key}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Http.GetAsync($"/api/batches?code={Key}x")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Http.GetAsync($"/api/batches/none/jobs?CODE={Key}&top=1")).StatusCode);

        string[] lines = logs.Lines.Select(l => $"{l.Category}: {l.Message}").ToArray();
        Assert.DoesNotContain(lines, l => l.Contains(Key, StringComparison.Ordinal));

        // The requests are still logged, with the key's place marked.
        Assert.Contains(lines, l => l.Contains("/api/batches?top=5&code=***", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("/api/batches/none/jobs?CODE=***&top=1", StringComparison.Ordinal));
    }
}
