using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// One <c>durablejobs serve</c> process (the Host project's build output, run with <c>dotnet durablejobs.dll</c>),
/// configured through environment variables, its output captured line by line. Disposing kills its process tree if
/// it still runs, so nothing a test starts outlives it.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly string workingDirectory;
    private readonly bool ownsWorkingDirectory;

    private HostProcess(Process process, string name, string workingDirectory, bool ownsWorkingDirectory, Uri? baseAddress)
    {
        this.process = process;
        this.workingDirectory = workingDirectory;
        this.ownsWorkingDirectory = ownsWorkingDirectory;
        Name = name;
        BaseAddress = baseAddress;
    }

    /// <summary>A label for output (worker-1, api).</summary>
    public string Name { get; }

    public int Pid => process.Id;

    /// <summary>The worker name the engine records in each job result (machine:pid).</summary>
    public string WorkerName => $"{Environment.MachineName}:{process.Id}";

    /// <summary>Where the API listens, for API processes.</summary>
    public Uri? BaseAddress { get; }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved.</summary>
    public IReadOnlyList<string> Lines => lines.ToArray();

    /// <summary>
    /// Starts <c>durablejobs serve</c> with <paramref name="arguments"/> and <paramref name="environment"/>; returns once it
    /// is ready. It runs in <paramref name="workingDirectory"/> when given (kept on dispose), else in a new empty folder.
    /// </summary>
    public static async Task<HostProcess> StartAsync(
        string name, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, bool api, string? workingDirectory = null)
    {
        // Its own empty working folder by default: no local.settings.json or .azurite of the repository leaks in.
        string folder = workingDirectory ?? Directory.CreateTempSubdirectory("durablejobs-faults-").FullName;
        Uri? baseAddress = api ? new Uri($"http://127.0.0.1:{FreePort()}") : null;
        List<string> all = ["serve", .. arguments];
        if (baseAddress is not null)
        {
            all.AddRange(["--urls", baseAddress.ToString().TrimEnd('/')]);
        }

        var process = new Process { StartInfo = StartInfo(folder, all, environment), EnableRaisingEvents = true };
        var host = new HostProcess(process, name, folder, workingDirectory is null, baseAddress);
        process.OutputDataReceived += (_, e) => host.Add(e.Data);
        process.ErrorDataReceived += (_, e) => host.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.WaitReadyAsync(api);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>
    /// Runs a one-shot <c>durablejobs</c> command (such as <c>run FILE</c>) in <paramref name="workingDirectory"/> to its
    /// end; returns its exit code and output. Killed (tree) if it outlives <paramref name="timeout"/> or
    /// <paramref name="cancellationToken"/> fires first (a test that failed meanwhile). Each line also goes to
    /// <paramref name="onLine"/> as it arrives, for tests that act while the command runs.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunToEndAsync(
        IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory, TimeSpan timeout,
        Action<string>? onLine = null, CancellationToken cancellationToken = default)
    {
        using var process = new Process { StartInfo = StartInfo(workingDirectory, arguments, environment) };
        var output = new ConcurrentQueue<string>();
        void Add(string? line)
        {
            if (line is not null)
            {
                output.Enqueue(line);
                onLine?.Invoke(line);
            }
        }

        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"durablejobs {string.Join(' ', arguments)} did not end within {timeout.TotalSeconds:0} s:{Environment.NewLine}{string.Join(Environment.NewLine, output)}");
        }

        process.WaitForExit(); // flushes the redirected output
        return (process.ExitCode, string.Join(Environment.NewLine, output));
    }

    /// <summary>kill -9: the process dies without running any of its shutdown code.</summary>
    public void KillHard()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>SIGTERM, as an orchestrator (systemd, Kubernetes) stops a process.</summary>
    public void Terminate() => Posix.Terminate(process.Id);

    /// <summary>Waits for the process to exit; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Output lines containing <paramref name="text"/>.</summary>
    public IEnumerable<string> LinesContaining(string text) => lines.Where(l => l.Contains(text, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.Dispose();
        if (ownsWorkingDirectory)
        {
            try
            {
                Directory.Delete(workingDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the OS's temp cleanup.
            }
        }
    }

    /// <summary>The last lines of output, for failure messages.</summary>
    public string Tail(int count = 30) => string.Join(Environment.NewLine, lines.ToArray().TakeLast(count).Select(l => $"[{Name}] {l}"));

    private void Add(string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
    }

    private async Task WaitReadyAsync(bool api)
    {
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {process.ExitCode} while starting:{Environment.NewLine}{Tail()}");
            }

            if (api)
            {
                try
                {
                    using HttpResponseMessage health = await http.GetAsync(new Uri(BaseAddress!, "/api/healthz"));
                    if (health.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException)
                {
                    // Slow start on a busy machine.
                }
            }
            else if (LinesContaining("started on task hub").Any())
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{Name} was not ready within 90 s:{Environment.NewLine}{Tail()}");
    }

    /// <summary><c>dotnet durablejobs.dll ARGUMENTS</c> in <paramref name="folder"/>, with the runner's own settings removed.</summary>
    internal static ProcessStartInfo StartInfo(string folder, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "durablejobs.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("durablejobs.dll is not next to the tests; the test project references the Host project for it.", dll);
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer ? muxer : "dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Test runners set these for the test process; the child must not inherit them.
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        return start;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
