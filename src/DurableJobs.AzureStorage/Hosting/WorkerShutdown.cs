namespace DurableJobs.Engine.Hosting;

/// <summary>The process-level stop signal handed to every running job: cancelled first thing when the host stops.</summary>
internal sealed class WorkerShutdown : IDisposable
{
    private readonly CancellationTokenSource source = new();

    /// <summary>Cancelled when the host starts stopping.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Signals every running job to stop.</summary>
    public void Signal()
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already torn down.
        }
    }

    /// <inheritdoc />
    public void Dispose() => source.Dispose();
}
