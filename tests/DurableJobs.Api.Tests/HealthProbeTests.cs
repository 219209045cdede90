using System.Text.Json;
using DurableJobs.Api.Http;
using DurableJobs.Core.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Api.Tests;

/// <summary>The health probe's answer when storage fails: it is public (no key on Functions' anonymous probes, none on loopback), so it says what failed, not how.</summary>
public sealed class HealthProbeTests
{
    // What a storage client's exception carries: the account, the endpoint, request ids, the service's own words.
    private const string StorageText =
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\n" +
        "RequestId:7d1c8a2e-0001-0042-3d8f-1a2b3c000000\nStatus: 403 (Server failed to authenticate the request.)\nErrorCode: AuthenticationFailed\n" +
        "Headers: x-ms-request-id: 7d1c8a2e, Server: Windows-Azure-Table/1.0 https://prodaccount.table.core.windows.net/DurableJobsHubInstances()";

    [Theory]
    [InlineData(typeof(InvalidOperationException))]
    [InlineData(typeof(HttpRequestException))]
    [InlineData(typeof(Azure.RequestFailedException))]
    public async Task An_unhealthy_answer_names_the_failure_without_the_storage_exception_text(Type failure)
    {
        var api = new BatchHttpApi(new ApiOptions(), new BatchLimits(), NullLogger<BatchHttpApi>.Instance);
        await using ServiceProvider services = new ServiceCollection().AddLogging().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();

        IResult result = await api.HealthAsync(context.Request, () => throw (Exception)Activator.CreateInstance(failure, StorageText)!, CancellationToken.None);
        await result.ExecuteAsync(context);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        string body = System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
        JsonElement problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("unhealthy", problem.GetProperty("code").GetString());
        foreach (string secret in new[] { "prodaccount", "RequestId", "AuthenticationFailed", "Authorization header", "x-ms-request-id" })
        {
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        }

        Assert.Contains("see the host's log", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
