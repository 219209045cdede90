namespace DurableJobs.Engine.Hosting;

/// <summary>The storage account the task hub lives in, resolved once at start (after Azurite, if needed, is up).</summary>
public sealed class StorageConnection
{
    /// <summary>The setting name shared with Azure Functions.</summary>
    public const string SettingName = "AzureWebJobsStorage";

    private string? connectionString;

    /// <summary>The connection string. Throws until it is resolved.</summary>
    public string ConnectionString =>
        connectionString ?? throw new InvalidOperationException("The storage connection is not resolved yet.");

    /// <summary>Sets the resolved connection string.</summary>
    public void Resolve(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        connectionString = value;
    }
}
