namespace DurableJobs.Host.Cli;

/// <summary>First Ctrl+C asks for a graceful stop; a second one quits the process at once.</summary>
internal sealed class ConsoleInterrupt : IDisposable
{
    private readonly TaskCompletionSource requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int presses;

    public ConsoleInterrupt() => Console.CancelKeyPress += OnCancelKeyPress;

    /// <summary>Completes on the first Ctrl+C.</summary>
    public Task Requested => requested.Task;

    public void Dispose() => Console.CancelKeyPress -= OnCancelKeyPress;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (Interlocked.Increment(ref presses) == 1)
        {
            e.Cancel = true;
            requested.TrySetResult();
        }
        else
        {
            Environment.Exit(ExitCodes.Interrupted);
        }
    }
}
