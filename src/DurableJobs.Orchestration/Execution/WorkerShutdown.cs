namespace DurableJobs.Orchestration.Execution;

/// <summary>The process-level stop signal handed to every running job: cancelled first thing when the host stops.</summary>
internal sealed class WorkerShutdown : IDisposable
{
    /// <summary>Cancelled by <see cref="Signal"/>, or with the token given at construction.</summary>
    private readonly CancellationTokenSource source;

    /// <summary>A signal only <see cref="Signal"/> fires (the embedded engine calls it first thing when it stops).</summary>
    public WorkerShutdown() => source = new CancellationTokenSource();

    /// <summary>A signal that also fires with <paramref name="hostStopping"/> (e.g. Azure Functions' ApplicationStopping).</summary>
    public WorkerShutdown(CancellationToken hostStopping) => source = CancellationTokenSource.CreateLinkedTokenSource(hostStopping);

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
