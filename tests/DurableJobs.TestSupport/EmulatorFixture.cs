using Xunit;

namespace DurableJobs.Testing;

/// <summary>
/// The one storage-emulator fixture of every test project: one Azurite per collection (a collection fixture), shared by
/// the test classes in it, each on a task hub of its own. Everything it starts, it stops.
/// </summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    private StorageEmulator? emulator;

    /// <summary>The emulator (for crash and outage tests).</summary>
    public StorageEmulator Emulator => emulator ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>Its connection string.</summary>
    public string ConnectionString => Emulator.ConnectionString;

    public async Task InitializeAsync() => emulator = await StorageEmulator.StartAsync().ConfigureAwait(false);

    public async Task DisposeAsync()
    {
        if (emulator is not null)
        {
            await emulator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
