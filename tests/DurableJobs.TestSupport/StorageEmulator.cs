using System.Diagnostics;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Testing;

/// <summary>
/// One storage emulator for a test run: an Azurite container through Testcontainers when a Docker engine
/// answers, otherwise Azurite from the repository's pinned npm package, in disk mode on a temporary folder.
/// Everything it starts, it stops.
/// </summary>
public sealed class StorageEmulator : IAsyncDisposable
{
    private const string AzuriteImage = "mcr.microsoft.com/azure-storage/azurite:3.35.0";

    private readonly IContainer? container;
    private AzuriteProcess? process;
    private readonly string dataDirectory;

    private StorageEmulator(IContainer? container, AzuriteProcess? process, string connectionString, string dataDirectory)
    {
        this.container = container;
        this.process = process;
        ConnectionString = connectionString;
        this.dataDirectory = dataDirectory;
    }

    /// <summary>A connection string for the emulator.</summary>
    public string ConnectionString { get; }

    /// <summary>Where it runs: "docker" or "npm".</summary>
    public string Kind => container is null ? "npm" : "docker";

    /// <summary>Starts an emulator.</summary>
    public static async Task<StorageEmulator> StartAsync()
    {
        string data = Directory.CreateTempSubdirectory("durablejobs-azurite-").FullName;
        if (DockerAnswers())
        {
            IContainer container = new ContainerBuilder(AzuriteImage)
                .WithPortBinding(10000, true).WithPortBinding(10001, true).WithPortBinding(10002, true)
                .WithCommand("azurite", "--blobHost", "0.0.0.0", "--queueHost", "0.0.0.0", "--tableHost", "0.0.0.0",
                    "--location", "/data", "--skipApiVersionCheck", "--disableTelemetry", "--loose")
                .WithWaitStrategy(Wait.ForUnixContainer().UntilInternalTcpPortIsAvailable(10000).UntilInternalTcpPortIsAvailable(10001).UntilInternalTcpPortIsAvailable(10002))
                .Build();
            await container.StartAsync().ConfigureAwait(false);
            string host = container.Hostname;
            string cs = $"DefaultEndpointsProtocol=http;AccountName={DevelopmentStorage.AccountName};AccountKey={DevelopmentStorage.AccountKey};" +
                $"BlobEndpoint=http://{host}:{container.GetMappedPublicPort(10000)}/{DevelopmentStorage.AccountName};" +
                $"QueueEndpoint=http://{host}:{container.GetMappedPublicPort(10001)}/{DevelopmentStorage.AccountName};" +
                $"TableEndpoint=http://{host}:{container.GetMappedPublicPort(10002)}/{DevelopmentStorage.AccountName};";
            return new StorageEmulator(container, null, cs, data);
        }

        AzuriteProcess azurite = await StartNpmAsync(AzuriteProcess.FindFreePortRange(), data).ConfigureAwait(false);
        return new StorageEmulator(null, azurite, azurite.ConnectionString, data);
    }

    /// <summary>Kills the emulator as a crash would (npm mode only) and starts it again on the same ports and data.</summary>
    public async Task CrashAndRestartAsync(TimeSpan downtime)
    {
        if (process is null)
        {
            throw new NotSupportedException("Crash tests need the npm emulator.");
        }

        int port = process.BlobPort;
        process.Kill();
        await process.DisposeAsync().ConfigureAwait(false);
        await Task.Delay(downtime).ConfigureAwait(false);
        process = await StartNpmAsync(port, dataDirectory).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the emulator in order (SIGTERM: Azurite writes its state to disk) and starts it again on the same ports
    /// and data after <paramref name="downtime"/>: a storage outage that loses nothing (npm mode only). Azurite killed
    /// with SIGKILL while busy can come back without its queues and tables, which real storage never does.
    /// </summary>
    public async Task StopAndRestartAsync(TimeSpan downtime)
    {
        if (process is null)
        {
            throw new NotSupportedException("Outage tests need the npm emulator.");
        }

        int port = process.BlobPort;
        using (Process? term = Process.Start("kill", ["-TERM", process.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            term?.WaitForExit();
        }

        var clock = Stopwatch.StartNew();
        while (process.IsRunning && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await process.DisposeAsync().ConfigureAwait(false);
        await Task.Delay(downtime).ConfigureAwait(false);
        process = await StartNpmAsync(port, dataDirectory).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync().ConfigureAwait(false);
        }

        if (process is not null)
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying process: the temp folder is cleaned by the OS later.
        }
    }

    private static Task<AzuriteProcess> StartNpmAsync(int port, string data) =>
        AzuriteProcess.StartAsync(
            new AzuriteOptions { BlobPort = port, DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
            NullLogger.Instance);

    private static bool DockerAnswers()
    {
        if (Environment.GetEnvironmentVariable("DURABLEJOBS_TEST_EMULATOR") is "npm")
        {
            return false;
        }

        if (!File.Exists("/var/run/docker.sock") && Environment.GetEnvironmentVariable("DOCKER_HOST") is null)
        {
            return false;
        }

        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (docker is null)
            {
                return false;
            }

            if (!docker.WaitForExit(5_000))
            {
                docker.Kill(entireProcessTree: true);
                return false;
            }

            return docker.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
