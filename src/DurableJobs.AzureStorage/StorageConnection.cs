using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// The storage account the task hub lives in: a connection string (keys, SAS, Azurite) or service endpoints with a
/// <see cref="TokenCredential"/> (managed identity: no keys). Every storage client of ours is made here, so both forms
/// work everywhere. Immutable, and known when the container first builds it, from the app's choice, the settings and
/// the options alone: no hosted service has to start first (the embedded engine starts Azurite for an emulator
/// connection, but the connection itself is fixed before that).
/// </summary>
internal sealed class StorageConnection
{
    /// <summary>The setting name shared with Azure Functions.</summary>
    public const string SettingName = "AzureWebJobsStorage";

    private StorageConnection(string? connectionString, StorageEndpoints? endpoints, int? emulatorBlobPort)
    {
        ConnectionString = connectionString;
        Endpoints = endpoints;
        EmulatorBlobPort = emulatorBlobPort;
    }

    /// <summary>The connection string, or null when the connection is identity-based.</summary>
    public string? ConnectionString { get; }

    /// <summary>The endpoints and credential, or null when the connection is a connection string.</summary>
    public StorageEndpoints? Endpoints { get; }

    /// <summary>
    /// The blob port of the local emulator this connection points at, which the embedded engine starts when nothing
    /// answers there; null for any other account.
    /// </summary>
    public int? EmulatorBlobPort { get; }

    /// <summary>A connection string (keys, SAS, or <c>UseDevelopmentStorage=true</c> as it is).</summary>
    public static StorageConnection FromConnectionString(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return new StorageConnection(value, null, null);
    }

    /// <summary>Identity-based endpoints.</summary>
    public static StorageConnection FromEndpoints(StorageEndpoints value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new StorageConnection(null, value, null);
    }

    /// <summary>The local emulator: <paramref name="connectionString"/> points at its blob service on <paramref name="blobPort"/>.</summary>
    public static StorageConnection ForEmulator(string connectionString, int blobPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return new StorageConnection(connectionString, null, blobPort);
    }

    /// <summary>
    /// Reads <c>AzureWebJobsStorage</c> the way Azure Functions does: a connection string in the setting itself, or the
    /// identity-based form in its children (<c>AzureWebJobsStorage__accountName</c>, or <c>__blobServiceUri</c>,
    /// <c>__queueServiceUri</c> and <c>__tableServiceUri</c>; <c>__credential</c> = <c>managedidentity</c> with an
    /// optional <c>__clientId</c>). Null when neither is set. <paramref name="credential"/>, when given, is used
    /// instead of the one the settings name (tests, or an app that builds its own).
    /// </summary>
    public static StorageConnection? FromConfiguration(IConfiguration configuration, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SettingName);
        if (section.Value is { Length: > 0 } value)
        {
            return FromConnectionString(value);
        }

        string? account = section["accountName"];
        Uri? blob = ServiceUri(section, "blobServiceUri", account, "blob");
        Uri? queue = ServiceUri(section, "queueServiceUri", account, "queue");
        Uri? table = ServiceUri(section, "tableServiceUri", account, "table");
        if (blob is null && queue is null && table is null)
        {
            return null;
        }

        if (blob is null || queue is null || table is null)
        {
            throw new InvalidOperationException(
                $"{SettingName} is identity-based but incomplete: set {SettingName}__accountName, or all three of " +
                $"{SettingName}__blobServiceUri, __queueServiceUri and __tableServiceUri.");
        }

        return FromEndpoints(new StorageEndpoints(blob, queue, table, credential ?? CredentialFrom(section)));
    }

    /// <summary>A client for <paramref name="tableName"/>.</summary>
    public TableClient CreateTableClient(string tableName) => Endpoints is { } e
        ? new TableClient(e.TableServiceUri, tableName, e.Credential)
        : new TableClient(ConnectionString!, tableName);

    /// <summary>A client for the blob container <paramref name="containerName"/>.</summary>
    public BlobContainerClient CreateBlobContainerClient(string containerName) => Endpoints is { } e
        ? new BlobContainerClient(new Uri(e.BlobServiceUri, containerName), e.Credential)
        : new BlobContainerClient(ConnectionString!, containerName);

    /// <summary>A queue service client.</summary>
    public QueueServiceClient CreateQueueServiceClient(QueueClientOptions? options = null) => Endpoints is { } e
        ? new QueueServiceClient(e.QueueServiceUri, e.Credential, options)
        : new QueueServiceClient(ConnectionString!, options);

    private static Uri? ServiceUri(IConfigurationSection section, string key, string? account, string service)
    {
        if (section[key] is { Length: > 0 } explicitUri)
        {
            return Uri.TryCreate(explicitUri, UriKind.Absolute, out Uri? uri)
                ? WithTrailingSlash(uri)
                : throw new InvalidOperationException($"{SettingName}__{key} is not an absolute URI: '{explicitUri}'.");
        }

        return account is { Length: > 0 } ? new Uri($"https://{account}.{service}.core.windows.net/") : null;
    }

    // A base without its trailing slash would lose its last segment when a container name is appended.
    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private static TokenCredential CredentialFrom(IConfigurationSection section)
    {
        string? clientId = section["clientId"];
        if (string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return clientId is { Length: > 0 }
                ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
                : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        }

        // As Functions does without a credential setting: whatever the environment offers (az login on a laptop).
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId });
    }
}

/// <summary>The identity-based form of a storage connection: the three service endpoints and the credential for them.</summary>
/// <param name="BlobServiceUri">The blob service, for example <c>https://account.blob.core.windows.net/</c>.</param>
/// <param name="QueueServiceUri">The queue service.</param>
/// <param name="TableServiceUri">The table service.</param>
/// <param name="Credential">The credential every client uses.</param>
internal sealed record StorageEndpoints(Uri BlobServiceUri, Uri QueueServiceUri, Uri TableServiceUri, TokenCredential Credential);
