using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Host.Web;

/// <summary>
/// One log line per request, written in place of ASP.NET Core's own request lines (category
/// <c>Microsoft.AspNetCore.Hosting.Diagnostics</c>, turned down to warnings by the host). Those print the full URL,
/// and the API key may ride in it as <c>?code=</c>; this line prints the URL with the key's value replaced.
/// </summary>
internal sealed class RequestLogMiddleware(RequestDelegate next, ILogger<RequestLogMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                HttpRequest request = context.Request;
                logger.LogInformation(
                    "HTTP {Method} {Path}{Query} answered {StatusCode} in {ElapsedMs:0.0} ms",
                    request.Method, request.PathBase + request.Path, ApiKeyMiddleware.WithoutKey(request.QueryString), context.Response.StatusCode,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }
}
