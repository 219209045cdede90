using DurableJobs.Api.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DurableJobs.Host.Web;

/// <summary>
/// What keeps a web page the user happens to open from using the host through their browser. Every answer forbids
/// framing (so no page can overlay the dashboard and steer clicks into Cancel) and content sniffing. Without an API key
/// the host also answers only requests addressed to a loopback name: a page on attacker.example whose DNS name is
/// rebound to 127.0.0.1 reaches our socket, but its requests still say <c>Host: attacker.example</c>, so they are
/// refused before they can read batches or submit work. (State changes also need a JSON body, which a cross-site form
/// cannot send; see <see cref="BatchHttpApi.CancelAsync"/>.)
/// </summary>
internal static class BrowserProtection
{
    /// <summary>Adds the headers and, when <paramref name="keyless"/>, the loopback Host check. Call before the dashboard and the API.</summary>
    internal static IApplicationBuilder UseBrowserProtection(this IApplicationBuilder app, bool keyless)
    {
        app.Use((context, next) =>
        {
            // At the start of the response, so answers written by the exception handler (which clears headers) carry them too.
            context.Response.OnStarting(() =>
            {
                IHeaderDictionary headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "frame-ancestors 'none'";
                headers.XFrameOptions = "DENY";
                headers.XContentTypeOptions = "nosniff";
                return Task.CompletedTask;
            });

            if (keyless && !BindingRules.IsLoopbackHost(context.Request.Host.Host))
            {
                return new ApiError(
                    StatusCodes.Status400BadRequest, "host-not-allowed", "The request names a host this server does not answer for.",
                    $"Without an API key ({EmbeddedWebHost.ApiKeySetting}) this host answers only requests to localhost, 127.0.0.1 or [::1], not to '{context.Request.Host.Value}'.")
                    .ToResult().ExecuteAsync(context);
            }

            return next(context);
        });
        return app;
    }
}
