using System.Collections.Concurrent;
using System.Diagnostics;

namespace DurableJobs.Benchmarks.Engine;

/// <summary>
/// The real worker host as a child process: <c>dotnet durablejobs.dll serve --worker-only</c>, the Host project's build
/// output (the benchmark project references it, so <c>dotnet build</c> puts it next to the benchmark). Configured by
/// environment variables, in its own empty working folder (no local.settings.json or .azurite of the repository leaks
/// in). Disposing kills it; so does this process exiting, so a failed or interrupted run leaves no host behind.
/// </summary>
public sealed class WorkerHostProcess : IAsyncDisposable
{
    private const string ReadyLine = "started on task hub";
    private const int KeptLines = 200;

    private readonly Process process;
    private readonly string workingDirectory;
    private readonly ConcurrentQueue<string> lines = new();
    private readonly EventHandler onProcessExit;
    private int disposed;

    private WorkerHostProcess(Process process, string workingDirectory)
    {
        this.process = process;
        this.workingDirectory = workingDirectory;
        onProcessExit = (_, _) => Kill();
        AppDomain.CurrentDomain.ProcessExit += onProcessExit;
    }

    public Process Process => process;

    /// <summary>Starts the host and returns once its worker runs on the task hub.</summary>
    public static async Task<WorkerHostProcess> StartAsync(IReadOnlyDictionary<string, string> environment, TimeSpan readyTimeout, CancellationToken cancellationToken)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "durablejobs.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("durablejobs.dll is not next to the benchmark; the benchmark project references the Host project for it, so build the solution first.", dll);
        }

        string folder = Directory.CreateTempSubdirectory("durablejobs-bench-host-").FullName;
        var start = new ProcessStartInfo(DotnetMuxer())
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { dll, "serve", "--worker-only" })
        {
            start.ArgumentList.Add(argument);
        }

        // The benchmark's own runtime and host settings must not leak into the measured process.
        foreach (string inherited in new[] { "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT" })
        {
            start.Environment.Remove(inherited);
        }

        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Start();
        var host = new WorkerHostProcess(process, folder);
        process.OutputDataReceived += (_, e) => host.Add(e.Data);
        process.ErrorDataReceived += (_, e) => host.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.WaitReadyAsync(readyTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return host;
    }

    /// <summary>Throws with the host's last lines if it has exited.</summary>
    public void ThrowIfExited()
    {
        if (process.HasExited)
        {
            throw new InvalidOperationException($"The worker host exited with {process.ExitCode}:{Environment.NewLine}{Tail()}");
        }
    }

    /// <summary>
    /// Stops the host as an operator's <c>kill</c> (SIGTERM) or a deploy would: the host shuts down, releasing its
    /// partition leases, so the next process on the hub takes over at once instead of waiting for them to expire.
    /// Killed if it has not exited within <paramref name="timeout"/>. True if it exited by itself.
    /// </summary>
    public async Task<bool> StopGracefullyAsync(TimeSpan timeout)
    {
        if (process.HasExited)
        {
            return true;
        }

        if (OperatingSystem.IsWindows())
        {
            // No SIGTERM to send; the engine's leases then expire instead of being released.
            Kill();
        }
        else
        {
            using Process signal = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
            await signal.WaitForExitAsync().ConfigureAwait(false);
        }

        try
        {
            using var wait = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return false;
        }
    }

    public string Tail(int count = 30) => string.Join(Environment.NewLine, lines.ToArray().TakeLast(count));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= onProcessExit;
        Kill();
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped within 10 s: nothing more this process can do.
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        process.Dispose();
        try
        {
            Directory.Delete(workingDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleanup.
        }
    }

    private static string DotnetMuxer()
    {
        // `dotnet run` and test runners say which muxer they use; a benchmark started through its apphost falls back to PATH.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer))
        {
            return muxer;
        }

        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone (or never started).
        }
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        if (Environment.GetEnvironmentVariable("DURABLEJOBS_BENCH_WORKER_LOGS") is { Length: > 0 } logs)
        {
            // Every line of every worker, for a look at a run afterwards (the benchmark keeps only the last lines).
            lock (lines)
            {
                File.AppendAllText(Path.Combine(logs, $"worker-{process.Id}.log"), line + Environment.NewLine);
            }
        }

        while (lines.Count > KeptLines && lines.TryDequeue(out _))
        {
            // Keep the tail only: the output is for failure messages.
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!lines.Any(l => l.Contains(ReadyLine, StringComparison.Ordinal)))
        {
            ThrowIfExited();
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The worker host was not ready within {timeout.TotalSeconds:0} s:{Environment.NewLine}{Tail()}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }
}
