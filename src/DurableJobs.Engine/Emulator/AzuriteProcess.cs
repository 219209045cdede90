using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Engine.Emulator;

/// <summary>
/// Azurite, from the npm package pinned in the repository, as a child process bound to 127.0.0.1 in disk mode.
/// Whoever starts it owns it: disposing stops it gracefully (and so does the exit of this process).
/// </summary>
/// <remarks>
/// Azurite's disk mode keeps its database in memory and saves it every few seconds and when it exits on a
/// signal it handles. A SIGKILL therefore loses the last seconds: completions are rolled back, deleted queue
/// messages and released leases come back, and the next process on the same folder waits out leases and
/// visibility timeouts of a world that already ended. So the emulator is stopped with SIGTERM and waited for;
/// a kill is the last resort and is logged as a possible loss. It also runs in a session of its own, so a
/// terminal's Ctrl+C (sent to the whole foreground process group) reaches this process, which then stops its
/// engine first and the emulator last, instead of pulling storage away from a worker that is still releasing it.
/// </remarks>
internal sealed class AzuriteProcess : IAsyncDisposable
{
    private const string EntryScript = "node_modules/azurite/dist/src/azurite.js";

    /// <summary>The repository's package.json, embedded: what <see cref="UserCacheDirectory()"/> installs.</summary>
    private const string ManifestResource = "DurableJobs.Engine.Emulator.package.json";

    /// <summary>The repository's package-lock.json, embedded.</summary>
    private const string LockResource = "DurableJobs.Engine.Emulator.package-lock.json";

    /// <summary>How long a graceful stop may take before the emulator is killed (it takes about 2 s).</summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How long a stopped emulator may take to exit by itself once its state is saved.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>What Azurite prints once a service has closed its stores (its state is on disk then).</summary>
    private const string ServiceClosedLine = "service successfully closed";

    /// <summary>Azurite's three services: blob, queue, table.</summary>
    private const int ServiceCount = 3;

    /// <summary>The node process (started through setsid where it exists, which keeps the pid).</summary>
    private readonly Process process;

    /// <summary>Where start, stop and the emulator's own output are logged.</summary>
    private readonly ILogger logger;

    /// <summary>Stops the emulator when this process exits without disposing it.</summary>
    private readonly EventHandler onProcessExit;

    /// <summary>Completes when all three services have said they closed, i.e. saved their state.</summary>
    private readonly TaskCompletionSource servicesClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many services have said they closed.</summary>
    private int closedServices;

    /// <summary>The emulator's last lines of output, oldest first: what it said before it exited (guarded by itself).</summary>
    private readonly Queue<string> lastLines = new();

    /// <summary>How many of the emulator's last lines <see cref="lastLines"/> keeps.</summary>
    private const int KeptLines = 8;

    /// <summary>1 once a stop began: stopping is idempotent.</summary>
    private int stopped;

    private AzuriteProcess(Process process, int blobPort, string dataDirectory, ILogger logger)
    {
        this.process = process;
        this.logger = logger;
        BlobPort = blobPort;
        DataDirectory = dataDirectory;
        onProcessExit = (_, _) => Stop(DefaultStopTimeout);
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
        string tools = options.ToolsDirectory ?? FindToolsDirectory() ?? UserCacheDirectory();
        await EnsureInstalledAsync(tools, options.InstallIfMissing, logger, cancellationToken).ConfigureAwait(false);

        string data = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(data);
        var start = new ProcessStartInfo(OwnSessionLauncher ?? "node")
        {
            WorkingDirectory = tools,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (OwnSessionLauncher is not null)
        {
            // setsid execs node in place (same pid) in a new session: no terminal signal reaches it.
            start.ArgumentList.Add("node");
        }

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
        var azurite = new AzuriteProcess(process, options.BlobPort, data, logger);
        process.OutputDataReceived += (_, e) => azurite.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => azurite.OnOutput(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var clock = Stopwatch.StartNew();
            for (int port = options.BlobPort; port <= options.BlobPort + 2; port++)
            {
                while (!await AnswersAsync(port, cancellationToken).ConfigureAwait(false))
                {
                    if (process.HasExited)
                    {
                        // Its last words are on their way through the output readers: wait for the end of both streams.
                        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                        string said = azurite.LastOutput();
                        throw new InvalidOperationException(said.Length > 0
                            ? $"Azurite exited with code {process.ExitCode} before it was ready on 127.0.0.1:{options.BlobPort}-{options.BlobPort + 2}. It said: {said}"
                            : $"Azurite exited with code {process.ExitCode} before it was ready (is port {port} taken?).");
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

    /// <summary>Three consecutive free loopback ports, for a private instance (tests, benchmarks, the Testing package).</summary>
    public static int FindFreePortRange()
    {
        // Not a port the system picks (a bind to port 0): it picks from the range it also gives outgoing connections,
        // and with many connections open (test suites side by side) one took a port so chosen in the second before
        // Azurite bound it, which then exited with EADDRINUSE. Below that range only listeners take ports, and each is
        // checked here; the random start keeps two callers at once from choosing the same three.
        int end = Math.Min(EphemeralPortsStart(), 65_536) - 3;
        bool below = end - FirstChosenPort >= 1_000;
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int first;
            if (below)
            {
                first = Random.Shared.Next(FirstChosenPort, end);
            }
            else
            {
                // A system that lends out (nearly) every port: take one it picks, as before.
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                first = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            if (first + 2 <= 65535 && IsFree(first) && IsFree(first + 1) && IsFree(first + 2))
            {
                return first;
            }
        }

        throw new InvalidOperationException("No three consecutive free ports were found on 127.0.0.1.");
    }

    /// <summary>The lowest port <see cref="FindFreePortRange"/> chooses: above Azurite's defaults (10000–10002).</summary>
    internal const int FirstChosenPort = 10_100;

    /// <summary>
    /// The first port of the range the system lends to outgoing connections: Linux's configured one, else the IANA
    /// dynamic range Windows and macOS use (49152–65535).
    /// </summary>
    internal static int EphemeralPortsStart()
    {
        const int Dynamic = 49_152;
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/sys/net/ipv4/ip_local_port_range"))
            {
                string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (range.Length > 0 && int.TryParse(range[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int start) && start > 0)
                {
                    return start;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Dynamic;
    }

    /// <summary>
    /// Where an app that runs outside the repository (a .NET tool, an app built on the packages) keeps the pinned
    /// Azurite: a per-user folder per pinned version, holding this assembly's copy of the repository's npm manifest
    /// and lock file, so <c>npm ci</c> installs exactly what the repository pins. Written on first use.
    /// </summary>
    public static string UserCacheDirectory() => UserCacheDirectory(
        Environment.GetEnvironmentVariable("DURABLEJOBS_CACHE") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "durablejobs"));

    /// <summary>As <see cref="UserCacheDirectory()"/>, under <paramref name="root"/>.</summary>
    public static string UserCacheDirectory(string root)
    {
        using Stream manifest = typeof(AzuriteProcess).Assembly.GetManifestResourceStream(ManifestResource)!;
        using Stream lockFile = typeof(AzuriteProcess).Assembly.GetManifestResourceStream(LockResource)!;
        string version = System.Text.Json.JsonDocument.Parse(manifest).RootElement.GetProperty("dependencies").GetProperty("azurite").GetString()!;
        string folder = Path.Combine(root, "azurite-" + version);
        Directory.CreateDirectory(folder);
        manifest.Position = 0;
        WriteIfChanged(Path.Combine(folder, "package.json"), manifest);
        WriteIfChanged(Path.Combine(folder, "package-lock.json"), lockFile);
        return folder;
    }

    /// <summary>The nearest folder, upward from the working folder or the app folder, holding DurableJobs' npm manifest (a clone of the repository).</summary>
    public static string? FindToolsDirectory()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string manifest = Path.Combine(dir.FullName, "package.json");
                // Only DurableJobs' own manifest: npm must never run in some other project that happens to use Azurite.
                if (File.Exists(manifest) && File.ReadAllText(manifest).Contains("\"name\": \"durablejobs-dev-tools\"", StringComparison.Ordinal))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    /// <summary>Stops Azurite gracefully (it saves its state) and waits for it to exit.</summary>
    public async ValueTask DisposeAsync() => await StopAsync(DefaultStopTimeout).ConfigureAwait(false);

    /// <summary>
    /// Stops Azurite gracefully: SIGTERM, then waits up to <paramref name="timeout"/> until its three services have
    /// closed their stores (saved their state) or it has exited. Only if neither happened is it killed, and that is
    /// logged as a warning (its last seconds may be lost). Returns true when its state was saved. Idempotent.
    /// </summary>
    /// <remarks>
    /// Once its services have closed, Azurite still waits for its clients to close their keep-alive connections
    /// before the process exits, and pooled HTTP connections of this process close only when their pool scavenges
    /// them (about 8 s here). Its state is already on disk then, so after a short grace the process is ended.
    /// </remarks>
    public async ValueTask<bool> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0)
        {
            return true;
        }

        AppDomain.CurrentDomain.ProcessExit -= onProcessExit;
        var clock = Stopwatch.StartNew();
        bool saved = false;
        if (Posix.RequestExit(process))
        {
            using var wait = new CancellationTokenSource(timeout);
            Task exited = process.WaitForExitAsync(wait.Token);
            try
            {
                await Task.WhenAny(exited, servicesClosed.Task).WaitAsync(wait.Token).ConfigureAwait(false);
                saved = true;
                if (!exited.IsCompleted)
                {
                    await Task.WhenAny(exited, Task.Delay(ExitGrace, wait.Token)).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // Neither closed nor exited in time: killed below.
            }
        }

        Finish(saved, clock, timeout);
        return saved;
    }

    /// <summary>Kills the process tree at once, as a crash would (fault tests restart it on the same data). Not a way to stop it.</summary>
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

    /// <summary>The synchronous stop for the process-exit handler, which cannot await.</summary>
    private void Stop(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        bool saved = Posix.RequestExit(process) &&
            (Task.WaitAny([servicesClosed.Task, process.WaitForExitAsync()], timeout) >= 0);
        if (saved)
        {
            WaitForExit(ExitGrace);
        }

        Finish(saved, clock, timeout);
    }

    private void Finish(bool saved, Stopwatch clock, TimeSpan timeout)
    {
        if (saved)
        {
            Kill();
            logger.LogInformation("Azurite stopped: saved its state in {Ms} ms", clock.ElapsedMilliseconds);
        }
        else if (!HasExited())
        {
            Kill();
            logger.LogWarning(
                "Azurite had not saved its state {Seconds} s after SIGTERM and was killed: it may have lost its last seconds (the next start sees an older state)",
                timeout.TotalSeconds);
        }

        process.Dispose();
    }

    private void OnOutput(string? line)
    {
        if (line is not { Length: > 0 })
        {
            return;
        }

        logger.LogDebug("azurite: {Line}", line);
        lock (lastLines)
        {
            lastLines.Enqueue(line);
            if (lastLines.Count > KeptLines)
            {
                lastLines.Dequeue();
            }
        }

        if (line.Contains(ServiceClosedLine, StringComparison.Ordinal) && Interlocked.Increment(ref closedServices) == ServiceCount)
        {
            servicesClosed.TrySetResult();
        }
    }

    private bool WaitForExit(TimeSpan timeout)
    {
        try
        {
            return process.WaitForExit(timeout);
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private bool HasExited()
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary><c>setsid</c> where it exists (Linux), to start the emulator in a session of its own; null elsewhere.</summary>
    private static string? OwnSessionLauncher { get; } =
        OperatingSystem.IsWindows() ? null : new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

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

    private static void WriteIfChanged(string path, Stream content)
    {
        using var buffer = new MemoryStream();
        content.CopyTo(buffer);
        byte[] bytes = buffer.ToArray();
        if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            File.WriteAllBytes(path, bytes);
        }
    }

    /// <summary>The emulator's last lines of output on one line, oldest first (empty if it said nothing).</summary>
    private string LastOutput()
    {
        lock (lastLines)
        {
            return string.Join(" | ", lastLines);
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
