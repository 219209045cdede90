using DurableJobs.Testing;

namespace DurableJobs.Engine.Tests;

/// <summary>One storage emulator for all engine tests; each test class uses its own task hub on it.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    private StorageEmulator? emulator;

    public StorageEmulator Emulator => emulator ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => emulator = await StorageEmulator.StartAsync();

    public async Task DisposeAsync()
    {
        if (emulator is not null)
        {
            await emulator.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EmulatorCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "storage emulator";
}
