using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

/// <summary>One storage emulator for the whole assembly; every storage-backed test class joins <see cref="StorageCollection"/>.</summary>
public sealed class StorageFixture : IAsyncLifetime
{
    private StorageEmulator? emulator;

    public string ConnectionString => emulator?.ConnectionString ?? throw new InvalidOperationException("The emulator has not started.");

    public async Task InitializeAsync() => emulator = await StorageEmulator.StartAsync();

    public async Task DisposeAsync()
    {
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }
}
