using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>
/// A throw-away PostgreSQL cluster for Hangfire's durable storage: Debian's <c>postgresql</c> binaries (<c>initdb</c>,
/// <c>pg_ctl</c>), a data folder under the temp folder, a free port on 127.0.0.1, trust authentication, durable
/// defaults (fsync and synchronous commit on). Stopped and deleted on dispose, and stopped if this process exits first.
/// PostgreSQL refuses to run as root, so under root (CI) the server runs as the <c>postgres</c> user the Debian
/// package creates.
/// </summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    private const string User = "bench";

    private readonly string binaries;
    private readonly string folder;
    private readonly bool asPostgresUser;
    private readonly EventHandler onProcessExit;
    private int stopped;

    private PostgresCluster(string binaries, string folder, bool asPostgresUser, int port)
    {
        this.binaries = binaries;
        this.folder = folder;
        this.asPostgresUser = asPostgresUser;
        Port = port;
        onProcessExit = (_, _) => StopServer(immediate: true);
        AppDomain.CurrentDomain.ProcessExit += onProcessExit;
    }

    public int Port { get; }

    /// <summary>An Npgsql connection string to the cluster's <c>postgres</c> database.</summary>
    public string ConnectionString(int maxPoolSize) =>
        $"Host=127.0.0.1;Port={Port};Username={User};Database=postgres;Maximum Pool Size={maxPoolSize};Timeout=30;Command Timeout=60";

    /// <summary>Where <c>initdb</c> and <c>pg_ctl</c> are, or null when PostgreSQL is not installed.</summary>
    public static string? FindBinaries()
    {
        IEnumerable<string> onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        // Debian puts them in /usr/lib/postgresql/<major>/bin, not on PATH: take the newest major.
        IEnumerable<string> debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), NumberStyles.Integer, CultureInfo.InvariantCulture, out int major) ? major : 0)
                .Select(d => Path.Combine(d, "bin"))
            : [];
        return onPath.Concat(debian).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    /// <summary>Why no cluster can be started here, or null when one can (<paramref name="binaries"/> from <see cref="FindBinaries"/>).</summary>
    public static string? WhyNotAvailable(string? binaries)
    {
        if (binaries is null)
        {
            return "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)";
        }

        // Under root the server must run as another user: the one Debian's package creates.
        return IsRoot && !File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal))
            ? "running as root and there is no postgres user to run the server as (PostgreSQL refuses root)"
            : null;
    }

    /// <summary>Creates and starts a cluster with room for <paramref name="maxConnections"/> connections.</summary>
    public static async Task<PostgresCluster> StartAsync(string binaries, int maxConnections, CancellationToken cancellationToken)
    {
        bool root = IsRoot;
        string folder = Directory.CreateTempSubdirectory("durablejobs-bench-pg-").FullName;
        var cluster = new PostgresCluster(binaries, folder, root, FreePort());
        try
        {
            if (root)
            {
                await RunAsync("chown", ["-R", "postgres:", folder], cancellationToken).ConfigureAwait(false);
            }

            await cluster.RunToolAsync("initdb", ["-D", cluster.Data, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync"], cancellationToken).ConfigureAwait(false);
            string options = string.Create(CultureInfo.InvariantCulture,
                $"-p {cluster.Port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections={maxConnections} -c shared_buffers=128MB");
            await cluster.RunToolAsync("pg_ctl", ["-D", cluster.Data, "-o", options, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "start"], cancellationToken).ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= onProcessExit;
        StopServer(immediate: false);
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the OS's temp cleanup.
        }

        return ValueTask.CompletedTask;
    }

    private static bool IsRoot => !OperatingSystem.IsWindows() && Environment.UserName == "root";

    private string Data => Path.Combine(folder, "data");

    private void StopServer(bool immediate)
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1 || !File.Exists(Path.Combine(Data, "postmaster.pid")))
        {
            return;
        }

        try
        {
            (string file, List<string> arguments) = Command("pg_ctl", ["-D", Data, "-m", immediate ? "immediate" : "fast", "-w", "stop"]);
            using Process? stop = Process.Start(Start(file, arguments));
            stop?.WaitForExit(30_000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Nothing to stop it with; the server dies with the machine's temp folder.
        }
    }

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        (string file, List<string> all) = Command(tool, arguments);
        return RunAsync(file, all, cancellationToken);
    }

    private (string File, List<string> Arguments) Command(string tool, IReadOnlyList<string> arguments)
    {
        string path = Path.Combine(binaries, tool);
        return asPostgresUser ? ("runuser", ["-u", "postgres", "--", path, .. arguments]) : (path, [.. arguments]);
    }

    private static ProcessStartInfo Start(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static async Task RunAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        using Process process = Process.Start(Start(file, arguments)) ?? throw new InvalidOperationException($"Could not start {file}.");
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}:{Environment.NewLine}{await output.ConfigureAwait(false)}{await error.ConfigureAwait(false)}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
