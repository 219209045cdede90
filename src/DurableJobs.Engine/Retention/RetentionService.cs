using DurableJobs.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Retention;

/// <summary>
/// Runs a <see cref="RetentionSweeper"/> round every <see cref="RetentionOptions.SweepInterval"/> on a worker. Every
/// worker tries each interval; the one that holds the lease sweeps, the rest skip the round.
/// </summary>
internal sealed partial class RetentionService(IServiceProvider services, RetentionSweeper sweeper, bool runsWorker, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off by default; and a process that runs no jobs (a client, an API-only host) leaves clean-up to the workers.
        if (!sweeper.Options.Enabled || !runsWorker)
        {
            return;
        }

        using var timer = new PeriodicTimer(sweeper.Options.SweepInterval, time);
        do
        {
            try
            {
                await sweeper.TrySweepAsync(services.GetRequiredService<BatchClient>(), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A failed round (storage down, the engine still starting) is retried at the next interval.
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Retention sweep failed; retried at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
