namespace DurableJobs.Faults.Tests;

/// <summary>The storage outage test kills the emulator, so it gets one of its own.</summary>
[CollectionDefinition(Name)]
public sealed class OutageCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "Outage";
}
