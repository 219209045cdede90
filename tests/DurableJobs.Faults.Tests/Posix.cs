using System.Runtime.InteropServices;

namespace DurableJobs.Faults.Tests;

/// <summary>Signals for processes this suite started (SIGTERM for a graceful stop; SIGKILL is Process.Kill).</summary>
internal static class Posix
{
    private const int SigTerm = 15;

    public static void Terminate(int pid)
    {
        if (kill(pid, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // One int call: the source generator's unsafe-code requirement buys nothing here.
    private static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
}
