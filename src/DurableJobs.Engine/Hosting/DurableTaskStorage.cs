using DurableTask.AzureStorage;

namespace DurableJobs.Engine.Hosting;

/// <summary>The engine's side of <see cref="StorageConnection"/> (which lives in DurableJobs.AzureStorage, without Durable Task).</summary>
internal static class DurableTaskStorage
{
    /// <summary>What Durable Task's Azure Storage backend connects with.</summary>
    public static StorageAccountClientProvider CreateDurableTaskProvider(this StorageConnection storage) => storage.Endpoints is { } e
        ? new StorageAccountClientProvider(e.BlobServiceUri, e.QueueServiceUri, e.TableServiceUri, e.Credential)
        : new StorageAccountClientProvider(storage.ConnectionString!);
}
