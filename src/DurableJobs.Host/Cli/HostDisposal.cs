using Microsoft.Extensions.Hosting;

namespace DurableJobs.Host.Cli;

/// <summary>Disposes a built host asynchronously, so services that only dispose asynchronously (the engine) are disposed too.</summary>
internal static class HostDisposal
{
    public static ValueTask DisposeAsync(IHost host)
    {
        if (host is IAsyncDisposable asyncDisposable)
        {
            return asyncDisposable.DisposeAsync();
        }

        host.Dispose();
        return ValueTask.CompletedTask;
    }
}
