using DurableJobs.Testing;

namespace DurableJobs.Faults.Tests;

/// <summary>One Azurite (npm, disk mode) per test collection; every test uses its own task hub on it.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    private StorageEmulator? emulator;

    public StorageEmulator Emulator => emulator ?? throw new InvalidOperationException("The emulator has not started.");

    public string ConnectionString => Emulator.ConnectionString;

    public async Task InitializeAsync() => emulator = await StorageEmulator.StartAsync();

    public async Task DisposeAsync()
    {
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }
}
