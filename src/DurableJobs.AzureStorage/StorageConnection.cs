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
/// work everywhere. Resolved once, at start (the embedded engine resolves it after Azurite, if needed, is up).
/// </summary>
internal sealed class StorageConnection
{
    /// <summary>The setting name shared with Azure Functions.</summary>
    public const string SettingName = "AzureWebJobsStorage";

    /// <summary>The connection string, for the key-based form.</summary>
    private string? connectionString;

    /// <summary>The endpoints and credential, for the identity-based form.</summary>
    private StorageEndpoints? endpoints;

    /// <summary>True once <see cref="Resolve(string)"/> or <see cref="Resolve(StorageEndpoints)"/> has run.</summary>
    public bool IsResolved => connectionString is not null || endpoints is not null;

    /// <summary>The connection string, or null when the connection is identity-based. Throws until resolved.</summary>
    public string? ConnectionString => IsResolved ? connectionString : throw NotResolved();

    /// <summary>The endpoints and credential, or null when the connection is a connection string. Throws until resolved.</summary>
    public StorageEndpoints? Endpoints => IsResolved ? endpoints : throw NotResolved();

    /// <summary>Sets a connection string.</summary>
    public void Resolve(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        connectionString = value;
        endpoints = null;
    }

    /// <summary>Sets identity-based endpoints.</summary>
    public void Resolve(StorageEndpoints value)
    {
        ArgumentNullException.ThrowIfNull(value);
        endpoints = value;
        connectionString = null;
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
        var connection = new StorageConnection();
        if (section.Value is { Length: > 0 } value)
        {
            connection.Resolve(value);
            return connection;
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

        connection.Resolve(new StorageEndpoints(blob, queue, table, credential ?? CredentialFrom(section)));
        return connection;
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

    private static InvalidOperationException NotResolved() => new("The storage connection is not resolved yet.");
}

/// <summary>The identity-based form of a storage connection: the three service endpoints and the credential for them.</summary>
/// <param name="BlobServiceUri">The blob service, for example <c>https://account.blob.core.windows.net/</c>.</param>
/// <param name="QueueServiceUri">The queue service.</param>
/// <param name="TableServiceUri">The table service.</param>
/// <param name="Credential">The credential every client uses.</param>
internal sealed record StorageEndpoints(Uri BlobServiceUri, Uri QueueServiceUri, Uri TableServiceUri, TokenCredential Credential);
