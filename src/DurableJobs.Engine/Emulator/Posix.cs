using System.Diagnostics;
using System.Runtime.InteropServices;

namespace DurableJobs.Engine.Emulator;

/// <summary>The one POSIX call .NET lacks: asking a child process to exit (SIGTERM) rather than killing it.</summary>
internal static class Posix
{
    private const int SigTerm = 15;

    /// <summary>
    /// Sends SIGTERM to <paramref name="process"/>; false where signals do not exist (Windows) or the call failed,
    /// in which case the caller falls back to a kill. True for a process that has already exited.
    /// </summary>
    public static bool RequestExit(Process process)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        try
        {
            return process.HasExited || kill(process.Id, SigTerm) == 0 || process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // One int call: the source generator's unsafe-code requirement buys nothing here.
    private static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
}
