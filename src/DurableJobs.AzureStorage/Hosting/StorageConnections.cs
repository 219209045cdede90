using Azure.Core;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// Decides an app's <see cref="StorageConnection"/> when the container first builds it, from what is known before
/// anything starts: the app's choice (<c>UseAzureStorage</c>, <c>UseAzurite</c>), else the <c>AzureWebJobsStorage</c>
/// setting, else the local emulator. The emulator (the <c>UseDevelopmentStorage=true</c> shorthand included) becomes an
/// explicit connection string on the configured Azurite ports, so every client made from it, in any hosted service and
/// in any order, points at the same place; the engine only makes sure Azurite answers there when it starts.
/// </summary>
internal static class StorageConnections
{
    /// <summary>The connection for this container; <paramref name="chosen"/> is the app's own choice, if it made one.</summary>
    public static StorageConnection Resolve(IServiceProvider services, StorageConnection? chosen)
    {
        ArgumentNullException.ThrowIfNull(services);
        StorageConnection? connection = chosen
            ?? (services.GetService<IConfiguration>() is { } configuration
                ? StorageConnection.FromConfiguration(configuration, services.GetService<TokenCredential>())
                : null);
        if (connection is { Endpoints: not null })
        {
            return connection;
        }

        string value = connection?.ConnectionString ?? DevelopmentStorage.Shorthand;
        if (!DevelopmentStorage.IsShorthand(value))
        {
            return connection ?? StorageConnection.FromConnectionString(value);
        }

        int blobPort = services.GetRequiredService<IOptions<AzuriteOptions>>().Value.BlobPort;
        return StorageConnection.ForEmulator(DevelopmentStorage.ConnectionString(blobPort), blobPort);
    }
}
