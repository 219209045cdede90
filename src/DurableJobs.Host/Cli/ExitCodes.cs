namespace DurableJobs.Host.Cli;

/// <summary>Process exit codes of the CLI.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int JobsDidNotAllSucceed = 1;
    public const int InvalidInput = 2;
    /// <summary>Ctrl+C: the batch was cancelled (or the process quit at once). 128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;

    /// <summary>0 only when the batch completed with every job succeeded.</summary>
    public static int For(DurableJobs.Client.BatchView view) =>
        view.Status == Orchestration.Model.BatchStatus.Completed && view.Succeeded == view.Total ? Success : JobsDidNotAllSucceed;
}
