using DurableJobs.Testing;

namespace DurableJobs.Engine.Tests;

[CollectionDefinition(Name)]
public sealed class EmulatorCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "storage emulator";
}
