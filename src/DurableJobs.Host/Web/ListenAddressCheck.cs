using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;

namespace DurableJobs.Host.Web;

/// <summary>
/// Without an API key, checks the addresses the server actually bound once it has started, and fails the start if
/// any is beyond loopback. The check of the configured URLs before the build cannot be the only one: it reads them
/// with <see cref="Uri"/>, and Kestrel parses some strings differently (<c>http://127.0.0.1?:7071</c> is 127.0.0.1 to
/// <see cref="Uri"/>, and to Kestrel a host name, which it serves on every interface).
/// </summary>
internal sealed class ListenAddressCheck(IServer server) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        ICollection<string> bound = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        if (!BindingRules.AllLoopback(bound))
        {
            throw EmbeddedWebHost.KeyRequiredBeyondLoopback(bound);
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
