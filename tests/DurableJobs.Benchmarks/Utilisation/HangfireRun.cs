using System.Diagnostics;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// Hangfire 1.8 as a peer, the way the issue measured it: every job enqueued first (from 8 threads), then a server with
/// one worker per slot of the cap; only the processing counts, from each job's own recorded start and finish.
/// "Submit" is the server's start, and there is no batch to become final.
/// </summary>
internal static class HangfireRun
{
    private const int EnqueueThreads = 8;

    /// <summary>Hangfire's in-memory storage: not durable, so the upper bound of its engine.</summary>
    public static async Task<RunOutcome> InMemoryAsync(UtilisationCell cell, int jobs, CancellationToken cancellationToken)
    {
        // Its dispatcher thread lives until the storage is disposed.
        using var storage = new InMemoryStorage(new InMemoryStorageOptions());
        return await RunAsync(storage, cell, jobs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hangfire on PostgreSQL (durable), in a schema of its own per run so no run sees another's jobs. The pool holds
    /// enough connections for every worker to fetch at once (up to 200).
    /// </summary>
    public static Task<RunOutcome> PostgreSqlAsync(PostgresCluster cluster, string schema, UtilisationCell cell, int jobs, CancellationToken cancellationToken)
    {
        var options = new PostgreSqlStorageOptions { SchemaName = schema, PrepareSchemaIfNecessary = true };
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(cluster.ConnectionString(Math.Min(200, cell.Cap + 20)), options), options);
        return RunAsync(storage, cell, jobs, cancellationToken);
    }

    private static async Task<RunOutcome> RunAsync(JobStorage storage, UtilisationCell cell, int jobs, CancellationToken cancellationToken)
    {
        InProcessSpans.Take();
        int run = InProcessSpans.Run;
        var client = new BackgroundJobClient(storage);
        int ms = (int)cell.Duration.TotalMilliseconds;
        await Parallel.ForAsync(0, jobs, new ParallelOptions { MaxDegreeOfParallelism = EnqueueThreads, CancellationToken = cancellationToken }, (_, _) =>
        {
            client.Enqueue(() => HangfireDelayJob.Run(ms, run));
            return ValueTask.CompletedTask;
        }).ConfigureAwait(false);

        DateTimeOffset serverStart = DateTimeOffset.UtcNow;
        var server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = cell.Cap, ServerName = $"bench-{Guid.NewGuid():N}" }, storage);
        try
        {
            TimeSpan patience = Patience.For(cell, jobs);
            var clock = Stopwatch.StartNew();
            while (InProcessSpans.Count < jobs)
            {
                if (clock.Elapsed > patience)
                {
                    throw new TimeoutException($"Hangfire ran {InProcessSpans.Count} of {jobs} jobs within {patience.TotalSeconds:0} s.");
                }

                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            server.SendStop();
            // Disposing waits for the workers: all idle by now.
            await Task.Run(server.Dispose, CancellationToken.None).ConfigureAwait(false);
        }

        return new RunOutcome(InProcessSpans.Take(), serverStart, FinalAt: null, Workers: null);
    }
}
