using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Emulator;

/// <summary>
/// Azurite, from the npm package pinned in the repository, as a child process bound to 127.0.0.1 in disk mode.
/// Whoever starts it owns it: disposing stops the whole process tree (and it is killed on process exit too).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private const string EntryScript = "node_modules/azurite/dist/src/azurite.js";

    private readonly Process process;
    private readonly ILogger logger;
    private readonly EventHandler onProcessExit;
    private int stopped;

    private AzuriteProcess(Process process, int blobPort, string dataDirectory, ILogger logger)
    {
        this.process = process;
        this.logger = logger;
        BlobPort = blobPort;
        DataDirectory = dataDirectory;
        onProcessExit = (_, _) => Kill();
        AppDomain.CurrentDomain.ProcessExit += onProcessExit;
    }

    /// <summary>The blob port; queue and table are the next two.</summary>
    public int BlobPort { get; }

    /// <summary>Where the data lives.</summary>
    public string DataDirectory { get; }

    /// <summary>The process id.</summary>
    public int ProcessId => process.Id;

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => !process.HasExited;

    /// <summary>A connection string for this instance.</summary>
    public string ConnectionString => DevelopmentStorage.ConnectionString(BlobPort);

    /// <summary>Starts Azurite and waits until its three services accept connections.</summary>
    public static async Task<AzuriteProcess> StartAsync(AzuriteOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        string tools = options.ToolsDirectory ?? FindToolsDirectory()
            ?? throw new InvalidOperationException(
                "Azurite is needed (the storage connection is development storage and nothing answers on its ports), but no npm manifest pinning it was found. " +
                "Run from the DurableJobs repository, set DurableJobs:Azurite:ToolsDirectory, or point AzureWebJobsStorage at a running storage account.");
        await EnsureInstalledAsync(tools, options.InstallIfMissing, logger, cancellationToken).ConfigureAwait(false);

        string data = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(data);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = tools,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string arg in new[]
        {
            Path.Combine(tools, EntryScript),
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", Port(options.BlobPort), "--queuePort", Port(options.BlobPort + 1), "--tablePort", Port(options.BlobPort + 2),
            "--location", data,
            "--skipApiVersionCheck", "--disableTelemetry", "--loose", "--silent",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for Azurite.");
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { logger.LogDebug("azurite: {Line}", line); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) { logger.LogDebug("azurite: {Line}", line); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new AzuriteProcess(process, options.BlobPort, data, logger);
        try
        {
            var clock = Stopwatch.StartNew();
            for (int port = options.BlobPort; port <= options.BlobPort + 2; port++)
            {
                while (!await AnswersAsync(port, cancellationToken).ConfigureAwait(false))
                {
                    if (process.HasExited)
                    {
                        throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} before it was ready (is port {port} taken?).");
                    }

                    if (clock.Elapsed > options.StartTimeout)
                    {
                        throw new TimeoutException($"Azurite did not answer on port {port} within {options.StartTimeout.TotalSeconds:0} s.");
                    }

                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }
            }

            logger.LogInformation("Azurite started (pid {Pid}) on 127.0.0.1:{Port}-{LastPort}, data in {Data}, ready in {Ms} ms",
                process.Id, options.BlobPort, options.BlobPort + 2, data, clock.ElapsedMilliseconds);
            return azurite;
        }
        catch
        {
            await azurite.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> AnswersAsync(int port, CancellationToken cancellationToken = default)
    {
        using var client = new TcpClient();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Three consecutive free loopback ports, for a private instance (tests).</summary>
    public static int FindFreePortRange()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int first = ((IPEndPoint)probe.LocalEndPoint!).Port;
            probe.Close();
            if (first + 2 <= 65535 && IsFree(first) && IsFree(first + 1) && IsFree(first + 2))
            {
                return first;
            }
        }

        throw new InvalidOperationException("No three consecutive free ports were found on 127.0.0.1.");
    }

    /// <summary>The nearest folder, upward from the working folder or the app folder, whose package.json pins Azurite.</summary>
    public static string? FindToolsDirectory()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string manifest = Path.Combine(dir.FullName, "package.json");
                if (File.Exists(manifest) && File.ReadAllText(manifest).Contains("\"azurite\"", StringComparison.Ordinal))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    /// <summary>Stops Azurite (the whole process tree) and waits for it to exit.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit -= onProcessExit;
            Kill();
            logger.LogInformation("Azurite stopped");
            process.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Kills the process tree at once, as a crash would (fault tests restart it on the same data).</summary>
    public void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    private static async Task EnsureInstalledAsync(string tools, bool install, ILogger logger, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(tools, EntryScript)))
        {
            return;
        }

        if (!install)
        {
            throw new InvalidOperationException($"Azurite is not installed in {tools}. Run 'npm ci' there.");
        }

        // Several processes (parallel test assemblies) may get here at once: one installs, the others wait.
        string lockPath = Path.Combine(tools, ".azurite-install.lock");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                if (File.Exists(Path.Combine(tools, EntryScript)))
                {
                    return;
                }

                logger.LogWarning("Installing the pinned Azurite with npm in {Tools} (first use; needs the npm registry)...", tools);
                Console.Error.WriteLine($"DurableJobs: installing the pinned Azurite with npm in {tools} (first use)...");
                bool hasLock = File.Exists(Path.Combine(tools, "package-lock.json"));
                var npm = new ProcessStartInfo("npm") { WorkingDirectory = tools, UseShellExecute = false };
                foreach (string arg in new[] { hasLock ? "ci" : "install", "--no-audit", "--no-fund", "--loglevel=error" })
                {
                    npm.ArgumentList.Add(arg);
                }

                using Process run = Process.Start(npm) ?? throw new InvalidOperationException("Could not start npm (is Node.js installed?).");
                await run.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                if (run.ExitCode != 0 || !File.Exists(Path.Combine(tools, EntryScript)))
                {
                    throw new InvalidOperationException($"npm could not install Azurite in {tools} (exit code {run.ExitCode}).");
                }

                return;
            }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromMinutes(5))
            {
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
