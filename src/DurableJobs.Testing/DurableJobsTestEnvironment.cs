using System.Diagnostics;
using DurableJobs.Client;
using DurableJobs.Core.Model;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Testing;

/// <summary>
/// A whole DurableJobs environment inside a test: its own Azurite (free ports, a temporary folder), a task hub no other
/// test uses, a worker running the handlers the test adds, and a <see cref="BatchClient"/>. Disposing stops all of it
/// and deletes the folder. Start one per test class (a few seconds) and run any number of batches on it.
/// </summary>
/// <example>
/// <code>
/// await using var env = await DurableJobsTestEnvironment.StartAsync(jobs => jobs.AddHandler&lt;WordCountHandler&gt;("word-count"));
/// BatchOutcome outcome = await env.RunAsync(new BatchRequest { Jobs = [new JobSpec { Type = "word-count", Payload = ... }] });
/// Assert.Equal(BatchStatus.Completed, outcome.View.Status);
/// </code>
/// </example>
public sealed class DurableJobsTestEnvironment : IAsyncDisposable
{
    /// <summary>The emulator this environment started.</summary>
    private readonly AzuriteProcess azurite;

    /// <summary>The host running the worker and the client.</summary>
    private readonly IHost host;

    /// <summary>The emulator's data folder, deleted on dispose.</summary>
    private readonly string folder;

    private DurableJobsTestEnvironment(AzuriteProcess azurite, IHost host, string folder, string hubName)
    {
        this.azurite = azurite;
        this.host = host;
        this.folder = folder;
        HubName = hubName;
    }

    /// <summary>The task hub of this environment.</summary>
    public string HubName { get; }

    /// <summary>The storage connection string of this environment's Azurite (to look at what was stored).</summary>
    public string ConnectionString => azurite.ConnectionString;

    /// <summary>The client: submit, read, list, cancel.</summary>
    public BatchClient Client => host.Services.GetRequiredService<BatchClient>();

    /// <summary>The environment's services (the handlers' dependencies, the options).</summary>
    public IServiceProvider Services => host.Services;

    /// <summary>
    /// Starts Azurite and a host with <c>AddDurableJobs()</c>, the handlers and services <paramref name="configure"/> adds,
    /// a worker and a client. Azurite is the repository's pinned one, or installed once into the per-user folder.
    /// </summary>
    public static async Task<DurableJobsTestEnvironment> StartAsync(
        Action<DurableJobsBuilder> configure, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configure);
        string folder = Directory.CreateTempSubdirectory("durablejobs-test-").FullName;
        AzuriteProcess azurite = await AzuriteProcess.StartAsync(
            new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = folder, StartTimeout = TimeSpan.FromSeconds(90) },
            NullLogger.Instance,
            cancellationToken).ConfigureAwait(false);
        string hub = "test" + Guid.NewGuid().ToString("N")[..16];
        try
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["DurableJobs:HubName"] = hub,
                ["DurableJobs:PartitionCount"] = "1",
                ["DurableJobs:MaxQueuePollingInterval"] = "00:00:00.250",
                ["DurableJobs:CancelPollInterval"] = "00:00:00.250",
            });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            logging?.Invoke(builder.Logging);
            DurableJobsBuilder jobs = builder.Services.AddDurableJobs().UseAzureStorage(azurite.ConnectionString).AddWorker().AddClient();
            configure(jobs);
            IHost host = builder.Build();
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            return new DurableJobsTestEnvironment(azurite, host, folder, hub);
        }
        catch
        {
            await azurite.DisposeAsync().ConfigureAwait(false);
            TryDelete(folder);
            throw;
        }
    }

    /// <summary>Submits <paramref name="request"/> and waits until it has finished (any final status); returns its view and every job's result.</summary>
    /// <exception cref="TimeoutException">It had not finished within <paramref name="timeout"/> (default two minutes).</exception>
    /// <exception cref="ArgumentException">The request is invalid (the message lists every problem, by field).</exception>
    public async Task<BatchOutcome> RunAsync(BatchRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        SubmitOutcome submitted = await Client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        if (!submitted.Accepted)
        {
            throw new ArgumentException(
                "The batch was refused: " + string.Join("; ", submitted.Validation.Problems.Select(p => $"{p.Path}: {p.Message}")), nameof(request));
        }

        return await WaitAsync(submitted.BatchId!, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until batch <paramref name="batchId"/> has finished; returns its view and every job's result.</summary>
    public async Task<BatchOutcome> WaitAsync(string batchId, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        TimeSpan limit = timeout ?? TimeSpan.FromMinutes(2);
        var clock = Stopwatch.StartNew();
        BatchView? view;
        while ((view = await Client.GetAsync(batchId, cancellationToken).ConfigureAwait(false)) is not { IsFinished: true })
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Batch {batchId} had not finished after {limit.TotalSeconds:0} s (status {view?.Status.ToString() ?? "unknown"}).");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        var jobs = new List<JobResult>();
        string? continuation = null;
        do
        {
            JobPage page = (await Client.GetJobsAsync(batchId, top: 1_000, continuationToken: continuation, cancellationToken: cancellationToken).ConfigureAwait(false))!;
            jobs.AddRange(page.Items);
            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return new BatchOutcome(view, jobs);
    }

    /// <summary>Stops the host (running handlers see their token), then Azurite, and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await host.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            if (host is IAsyncDisposable asyncHost)
            {
                await asyncHost.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                host.Dispose();
            }

            await azurite.DisposeAsync().ConfigureAwait(false);
            TryDelete(folder);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying process: the temporary folder is cleaned by the OS later.
        }
    }
}

/// <summary>A finished batch: its view and every job's result.</summary>
/// <param name="View">The batch's final view.</param>
/// <param name="Jobs">Every job's result, in id order of the store.</param>
public sealed record BatchOutcome(BatchView View, IReadOnlyList<JobResult> Jobs)
{
    /// <summary>The result of job <paramref name="jobId"/>.</summary>
    public JobResult Job(string jobId) => Jobs.Single(j => j.Id == jobId);
}
