using System.Net;
using System.Text;
using System.Text.Json;
using DurableJobs.Orchestration.Model;
using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

public sealed class BrowserSafetyHostFixture : HostFixture
{
    protected override string HubName => "ApiBrowserSafety";
}

/// <summary>
/// The keyless loopback default (what <c>durablejobs serve</c> runs with) against what any web page the user opens
/// can make the browser send: a request under a rebound DNS name, a plain HTML form, a frame.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class BrowserSafetyTests(EmulatorFixture storage, BrowserSafetyHostFixture fixture) : IClassFixture<BrowserSafetyHostFixture>, IAsyncLifetime
{
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("attacker.example")]
    [InlineData("attacker.example:{port}")]
    [InlineData("127.0.0.1.attacker.example:{port}")]
    [InlineData("localhost.attacker.example")]
    public async Task Without_a_key_a_request_for_another_host_name_is_refused_with_400(string hostHeader)
    {
        // DNS rebinding: the attacker's name resolves to 127.0.0.1, so the browser talks to us but says its own name.
        foreach (string path in new[] { "/api/batches", "/api/healthz", "/" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = hostHeader.Replace("{port}", host.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            using HttpResponseMessage response = await host.Http.SendAsync(request);
            JsonElement problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "host-not-allowed");
            Assert.Contains("DurableJobs:ApiKey", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("localhost:{port}")]
    [InlineData("LOCALHOST")]
    [InlineData("[::1]:{port}")]
    [InlineData("127.0.0.2")]
    public async Task Without_a_key_loopback_host_names_are_served(string hostHeader)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/batches");
        request.Headers.Host = hostHeader.Replace("{port}", host.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        using HttpResponseMessage response = await host.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_cancel_posted_as_an_html_form_or_without_a_body_is_refused_with_415_and_the_batch_keeps_running()
    {
        using var submit = new StringContent("""{"batchId":"browser-cancel","maxParallel":1,"jobs":[{"type":"delay","payload":{"ms":60000}},{"type":"delay","payload":{"ms":60000}}]}""", Encoding.UTF8, "application/json");
        using HttpResponseMessage submitted = await host.Http.PostAsync("/api/batches", submit);
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        await Eventually.MatchAsync(() => host.Batches.GetAsync("browser-cancel"), v => v?.Status == BatchStatus.Running, TimeSpan.FromSeconds(60), what: "batch running");

        // What <form method=post action=http://127.0.0.1:7071/api/batches/x/cancel> sends, in its three encodings, and a bare POST.
        HttpContent?[] forged =
        [
            new FormUrlEncodedContent([new("reason", "csrf")]),
            new MultipartFormDataContent { { new StringContent("csrf"), "reason" } },
            new StringContent("reason=csrf", Encoding.UTF8, "text/plain"),
            null,
        ];
        foreach (HttpContent? content in forged)
        {
            using HttpResponseMessage response = await host.Http.PostAsync("/api/batches/browser-cancel/cancel", content);
            await Problems.AssertAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
            content?.Dispose();
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(BatchStatus.Running, (await host.Batches.GetAsync("browser-cancel"))!.Status);

        // A script can only send JSON to us after a CORS preflight we never answer; our own clients send it directly.
        using var json = new StringContent("""{"reason":"done with it"}""", Encoding.UTF8, "application/json");
        using HttpResponseMessage accepted = await host.Http.PostAsync("/api/batches/browser-cancel/cancel", json);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await Eventually.MatchAsync(() => host.Batches.GetAsync("browser-cancel"), v => v?.Status == BatchStatus.Cancelled, TimeSpan.FromSeconds(60), what: "batch cancelled");
    }

    [Fact]
    public async Task The_dashboard_and_the_api_forbid_being_framed()
    {
        foreach (string path in new[] { "/", "/index.html", "/dashboard.js", "/api/batches" })
        {
            using HttpResponseMessage response = await host.Http.GetAsync(path);
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
            Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out IEnumerable<string>? policy), $"{path}: no Content-Security-Policy");
            Assert.Contains("frame-ancestors 'none'", string.Join(";", policy!), StringComparison.Ordinal);
            Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        }
    }
}
