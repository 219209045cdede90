namespace DurableJobs.Api.Tests;

[CollectionDefinition(Name)]
public sealed class StorageCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "Storage";
}
