namespace DurableJobs.Faults.Tests;

/// <summary>Tests that kill workers and flood the API: they share one emulator, each on its own task hub.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "Cluster";
}
