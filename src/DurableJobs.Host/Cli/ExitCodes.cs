namespace DurableJobs.Host.Cli;

/// <summary>Process exit codes of the CLI.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int JobsDidNotAllSucceed = 1;
    public const int InvalidInput = 2;
    public const int Unavailable = 3;
    public const int Interrupted = 130;
}
