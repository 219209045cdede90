using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using DurableJobs.Client;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Retention;

/// <summary>
/// One retention sweep (<see cref="RetentionOptions"/>) at a time across every process of a hub, embedded workers and
/// Functions apps alike: a sweep runs only under a lease on one blob of the hub's batch container, renewed while it
/// runs. A lease rather than an eternal orchestration: it needs nothing registered in either host, leaves no history to
/// replay or purge, and a process that dies mid-sweep frees it within the lease period, after which another's next
/// round takes over.
/// </summary>
internal sealed partial class RetentionSweeper(RetentionOptions retention, BlobContainerClient container, TimeProvider time, ILogger<RetentionSweeper> logger)
{
    /// <summary>The lease blob; '~' is no batch id's character, so no batch's blobs are near it.</summary>
    internal const string LeaseBlob = "~retention.lease";

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan LeaseRenewal = TimeSpan.FromSeconds(20);

    /// <summary>The settings it sweeps by.</summary>
    public RetentionOptions Options => retention;

    /// <summary>
    /// Deletes the batches past their period, unless retention is off or another process holds the lease (then null);
    /// otherwise how many were deleted.
    /// </summary>
    public async Task<int?> TrySweepAsync(BatchClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!retention.Enabled)
        {
            return null;
        }

        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        BlobClient blob = container.GetBlobClient(LeaseBlob);
        try
        {
            await blob.UploadAsync(BinaryData.Empty, overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Made by an earlier round or another process; leased or not, it stays.
        }

        BlobLeaseClient lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(LeaseDuration, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null; // another process is sweeping
        }

        using var sweep = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task renewing = RenewAsync(lease, sweep);
        try
        {
            int deleted = await client.DeleteExpiredAsync(retention, time.GetUtcNow(), sweep.Token).ConfigureAwait(false);
            if (deleted > 0)
            {
                LogSwept(logger, deleted);
            }

            return deleted;
        }
        finally
        {
            await sweep.CancelAsync().ConfigureAwait(false);
            await renewing.ConfigureAwait(false);
            try
            {
                await lease.ReleaseAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException)
            {
                // Lost or expired: it frees itself.
            }
        }
    }

    /// <summary>Renews the lease until the sweep ends; a lease lost (storage down past its period) stops the sweep.</summary>
    private async Task RenewAsync(BlobLeaseClient lease, CancellationTokenSource sweep)
    {
        try
        {
            while (true)
            {
                await Task.Delay(LeaseRenewal, time, sweep.Token).ConfigureAwait(false);
                await lease.RenewAsync(cancellationToken: sweep.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (sweep.IsCancellationRequested)
        {
        }
        catch (RequestFailedException)
        {
            await sweep.CancelAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Retention deleted {Count} finished batch(es) past their period")]
    private static partial void LogSwept(ILogger logger, int count);
}
