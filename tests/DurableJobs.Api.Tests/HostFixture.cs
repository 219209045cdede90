namespace DurableJobs.Api.Tests;

/// <summary>
/// One embedded host per test class, started on first use with the assembly's emulator (xunit v2 class
/// fixtures cannot receive collection fixtures, so the test class hands it over).
/// </summary>
public abstract class HostFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private RunningHost? host;

    protected abstract string HubName { get; }

    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    public async Task<RunningHost> GetAsync(EmulatorFixture storage)
    {
        await gate.WaitAsync();
        try
        {
            return host ??= await RunningHost.StartAsync(RunningHost.Settings(storage.ConnectionString, HubName, ExtraSettings));
        }
        finally
        {
            gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        gate.Dispose();
    }
}
