using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Api.Tests;

/// <summary>Issue 12: a team's own ASP.NET Core app serves the dashboard with <c>MapDurableJobsDashboard()</c>, at the root or on a group.</summary>
public sealed class DashboardMappingTests
{
    [Fact]
    public async Task The_dashboard_maps_on_a_group_of_any_app_redirects_to_its_slash_and_serves_its_assets_unframeable()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication app = builder.Build();
        app.MapGroup("/jobs").MapDurableJobsDashboard();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(address) };

        using HttpResponseMessage bare = await http.GetAsync("/jobs?code=k");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/jobs/?code=k", bare.Headers.Location!.OriginalString);

        using HttpResponseMessage page = await http.GetAsync("/jobs/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<script src=\"dashboard.js\"></script>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("frame-ancestors 'none'", Assert.Single(page.Headers.GetValues("Content-Security-Policy")));

        foreach ((string file, string type) in new[] { ("dashboard.js", "text/javascript"), ("dashboard.css", "text/css") })
        {
            using HttpResponseMessage asset = await http.GetAsync("/jobs/" + file);
            Assert.Equal((HttpStatusCode.OK, type), (asset.StatusCode, asset.Content.Headers.ContentType!.MediaType));
            Assert.True((await asset.Content.ReadAsByteArrayAsync()).Length > 100, file);
        }

        using HttpResponseMessage missing = await http.GetAsync("/jobs/secrets.txt");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await app.StopAsync();
    }
}
