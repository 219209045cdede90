using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace DurableJobs.Host.Web;

/// <summary>
/// The dashboard's HTML, CSS and JavaScript, compiled into the executable as resources (see the project file):
/// they are found whatever the working folder, under <c>dotnet run</c>, a test runner or a published app alike.
/// </summary>
internal static class DashboardAssets
{
    /// <summary>The prefix of the resources' logical names; the project file names them <c>DurableJobs.Host.Dashboard.{file}</c>.</summary>
    internal const string ResourcePrefix = "DurableJobs.Host.Dashboard";

    /// <summary>The files, <c>/index.html</c> and its neighbours.</summary>
    internal static IFileProvider Files { get; } = new EmbeddedFileProvider(typeof(DashboardAssets).Assembly, ResourcePrefix);

    /// <summary>Serves the dashboard at <c>/</c>. Call before the API key check: the assets hold no data, and the page forwards the key to the API.</summary>
    internal static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = Files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Files,

            // The assets change with the executable; revalidating keeps an upgraded host from serving a stale script.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
