using System.Diagnostics;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using DurableJobs.Benchmarks.Cli;
using DurableJobs.Core.Pool;

namespace DurableJobs.Benchmarks.Reporting;

/// <summary>The header of every report: numbers mean little without the machine and the build that made them.</summary>
public static class MachineInfo
{
    public static void Write(Report report, RunSettings settings)
    {
        var table = new MarkdownTable("Run", "Value");
        table.Row("Date (UTC)", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        table.Row("Commit", GitCommit() ?? "unknown");
        table.Row("Machine", $"{Environment.ProcessorCount} logical cores, {CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString()}");
        table.Row("OS", RuntimeInformation.OSDescription);
        table.Row("Load at start", LoadAverage() ?? "unknown");
        table.Row(".NET", $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})");
        table.Row("GC", $"{(GCSettings.IsServerGC ? "server" : "workstation")}, {GCSettings.LatencyMode}");
        table.Row("Build", IsOptimized(typeof(MachineInfo).Assembly) && IsOptimized(typeof(ChannelWorkerPool<,>).Assembly)
            ? "Release (optimized)"
            : "NOT optimized (Debug): numbers are not meaningful, use -c Release");
        table.Row("Mode", settings.Quick ? "--quick (smoke run: small sizes, few iterations, rough numbers)" : "full");
        table.Row("Command", "dotnet run -c Release --project tests/DurableJobs.Benchmarks -- " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)));
        report.Table(table);
    }

    public static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>() is not { IsJITOptimizerDisabled: true };

    private static string? CpuModel()
    {
        try
        {
            // Linux only; elsewhere the architecture is the best cheap description.
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Other work on the machine skews every number; the 1/5/15-minute load average says how much there was.</summary>
    private static string? LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg")
                ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) + $" (1/5/15 min, on {Environment.ProcessorCount} cores)"
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (git is null)
            {
                return null;
            }

            string sha = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            if (git.ExitCode != 0 || sha.Length == 0)
            {
                return null;
            }

            using var status = Process.Start(new ProcessStartInfo("git", "status --porcelain --untracked-files=no")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            bool dirty = status is not null && status.StandardOutput.ReadToEnd().Trim().Length > 0;
            status?.WaitForExit();
            return dirty ? sha + " (with uncommitted changes)" : sha;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git on this machine: the date and machine still identify the run.
            return null;
        }
    }
}
