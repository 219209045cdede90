using DurableJobs.Host.Web;
using Microsoft.Extensions.Configuration;

namespace DurableJobs.Host.Cli;

/// <summary>The configuration sources of the CLI's in-process hosts, in the same order as the web host's.</summary>
internal static class HostConfiguration
{
    public static void AddSources(IConfigurationManager configuration, IDictionary<string, string?>? overrides = null)
    {
        configuration.AddJsonFile("appsettings.json", optional: true);
        configuration.AddEnvironmentVariables();
        LocalSettingsFile.AddTo(configuration, Path.Combine(Directory.GetCurrentDirectory(), LocalSettingsFile.FileName));
        if (overrides is not null)
        {
            configuration.AddInMemoryCollection(overrides);
        }
    }
}
