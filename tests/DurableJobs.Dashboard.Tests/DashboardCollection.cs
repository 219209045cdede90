namespace DurableJobs.Dashboard.Tests;

/// <summary>One emulator, one host and one browser for every dashboard test; the tests run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboard";
}
