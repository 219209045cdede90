using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using DurableJobs.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DurableJobs.Engine.Retention;

/// <summary>
/// Deletes finished batches past their retention period (<see cref="RetentionOptions"/>), on one worker of the hub at a
/// time: a sweep runs only under a lease on one blob of the hub's batch container, renewed while it runs. A lease
/// rather than an eternal orchestration: it needs nothing registered in either host, leaves no history to replay or
/// purge, and a worker that dies mid-sweep frees it within the lease period, after which another worker's next round
/// takes over. Every worker tries each interval; the one that holds the lease sweeps, the rest skip the round.
/// </summary>
internal sealed partial class RetentionService(IServiceProvider services, RetentionOptions retention, bool runsWorker, BlobContainerClient container, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    /// <summary>The lease blob; '~' is no batch id's character, so no batch's blobs are near it.</summary>
    internal const string LeaseBlob = "~retention.lease";

    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan LeaseRenewal = TimeSpan.FromSeconds(20);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off by default; and a process that runs no jobs (a client, an API-only host) leaves clean-up to the workers.
        if (!retention.Enabled || !runsWorker)
        {
            return;
        }

        using var timer = new PeriodicTimer(retention.SweepInterval, time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A failed round (storage down, the engine still starting) is retried at the next interval.
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        await container.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        BlobClient blob = container.GetBlobClient(LeaseBlob);
        try
        {
            await blob.UploadAsync(BinaryData.Empty, overwrite: false, stoppingToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Made by an earlier round or another worker; leased or not, it stays.
        }

        BlobLeaseClient lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(LeaseDuration, cancellationToken: stoppingToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return; // another worker is sweeping
        }

        using var sweep = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task renewing = RenewAsync(lease, sweep);
        try
        {
            BatchClient client = services.GetRequiredService<BatchClient>();
            int deleted = await client.DeleteExpiredAsync(retention, time.GetUtcNow(), sweep.Token).ConfigureAwait(false);
            if (deleted > 0)
            {
                LogSwept(logger, deleted);
            }
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

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Retention sweep failed; retried at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
