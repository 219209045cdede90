using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DurableJobs.Api;

/// <summary>The dashboard in any ASP.NET Core app: <c>app.MapDurableJobsDashboard()</c> beside <c>app.MapDurableJobsApi()</c>.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>The prefix of the assets' resource names (see the project file).</summary>
    private const string ResourcePrefix = "DurableJobs.Dashboard.";

    /// <summary>The files and their content types.</summary>
    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["dashboard.js"] = "text/javascript; charset=utf-8",
        ["dashboard.css"] = "text/css; charset=utf-8",
    };

    /// <summary>
    /// Serves the dashboard (plain HTML, CSS and JavaScript, compiled into this assembly) at <c>/</c> of
    /// <paramref name="endpoints"/>. It calls the API relative to itself, so map both on the same group:
    /// <c>app.MapDurableJobsDashboard(); app.MapDurableJobsApi();</c>, or both on <c>app.MapGroup("/jobs")</c>. The
    /// assets hold no data: an API key, when the app requires one, is checked on the API calls the page makes, and the
    /// assets are marked with <see cref="PublicAssetMetadata"/> so a key check can let them through.
    /// </summary>
    public static RouteGroupBuilder MapDurableJobsDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        RouteGroupBuilder dashboard = endpoints.MapGroup(string.Empty);
        dashboard.MapGet("/", (HttpContext context) =>
        {
            // Relative asset and API addresses need the trailing slash ("/jobs" would resolve them against "/").
            return context.Request.Path.Value is { } path && !path.EndsWith('/')
                ? Results.Redirect(path + "/" + context.Request.QueryString)
                : Serve("index.html");
        });
        foreach (string file in Assets.Keys)
        {
            dashboard.MapGet("/" + file, () => Serve(file));
        }

        dashboard.WithMetadata(PublicAssetMetadata.Instance);
        return dashboard;
    }

    private static IResult Serve(string file)
    {
        Stream? content = typeof(DashboardEndpointRouteBuilderExtensions).Assembly.GetManifestResourceStream(ResourcePrefix + file);
        if (content is null)
        {
            return Results.NotFound();
        }

        // The assets change with the app; revalidating keeps an upgraded app from serving a stale script. No page may
        // frame the dashboard (a framed Cancel button can be clicked for the user).
        return new AssetResult(content, Assets[file]);
    }

    /// <summary>Writes an asset with the headers every dashboard answer carries.</summary>
    private sealed class AssetResult(Stream content, string contentType) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            IHeaderDictionary headers = httpContext.Response.Headers;
            headers.CacheControl = "no-cache";
            headers.ContentSecurityPolicy = "frame-ancestors 'none'";
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            httpContext.Response.ContentType = contentType;
            await using (content.ConfigureAwait(false))
            {
                await content.CopyToAsync(httpContext.Response.Body, httpContext.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Marks an endpoint that serves no data (the dashboard's assets): an API-key check may let it through.</summary>
internal sealed class PublicAssetMetadata
{
    private PublicAssetMetadata()
    {
    }

    /// <summary>The one instance.</summary>
    public static PublicAssetMetadata Instance { get; } = new();
}
