using Azure.Core;
using Azure.Identity;
using DurableJobs.Engine.Emulator;
using DurableJobs.Engine.Hosting;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// The storage connection is decided when the container builds it, from the app's choice, the settings and the
/// options alone, so any hosted service (in any order, before the engine has started) gets clients that point at the
/// account the engine uses. No storage is touched here: nothing is started.
/// </summary>
public sealed class StorageConnectionTests
{
    [Fact]
    public void UseAzurite_points_every_client_at_the_configured_ports_before_anything_starts()
    {
        using ServiceProvider services = Build(jobs => jobs.UseAzurite(o => o.BlobPort = 12000));

        StorageConnection storage = services.GetRequiredService<StorageConnection>();

        // Before, this was "UseDevelopmentStorage=true" until the engine started: a client made earlier went to 10000.
        Assert.Equal(12000, storage.EmulatorBlobPort);
        Assert.Equal(DevelopmentStorage.ConnectionString(12000), storage.ConnectionString);
        Assert.Equal(new Uri("http://127.0.0.1:12001/devstoreaccount1/job-batches"), storage.CreateQueueServiceClient().GetQueueClient("job-batches").Uri);
    }

    [Fact]
    public async Task Without_a_choice_or_a_setting_the_emulator_on_the_configured_port_is_known_before_anything_starts()
    {
        await using ServiceProvider services = Build(jobs => { }, new() { ["DurableJobs:Azurite:BlobPort"] = "12100" });

        // Before, the store and the signals could not be built until the engine had started (the connection threw
        // "not resolved yet"), so a hosted service registered before the engine could not use them.
        Assert.NotNull(services.GetRequiredService<IBatchStore>());
        Assert.NotNull(services.GetRequiredService<IBatchCancellationSignals>());
        StorageConnection storage = services.GetRequiredService<StorageConnection>();
        Assert.Equal(12100, storage.EmulatorBlobPort);
        Assert.Equal(new Uri("http://127.0.0.1:12102/devstoreaccount1/DurableJobsSignals"), storage.CreateTableClient("DurableJobsSignals").Uri);
    }

    [Fact]
    public void The_development_storage_setting_also_becomes_the_configured_ports()
    {
        using ServiceProvider services = Build(jobs => { }, new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true", ["DurableJobs:Azurite:BlobPort"] = "12200" });

        Assert.Equal(DevelopmentStorage.ConnectionString(12200), services.GetRequiredService<StorageConnection>().ConnectionString);
    }

    [Fact]
    public void An_account_connection_string_setting_is_used_as_it_is_and_needs_no_emulator()
    {
        const string account = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net";
        using ServiceProvider services = Build(jobs => { }, new() { ["AzureWebJobsStorage"] = account });

        StorageConnection storage = services.GetRequiredService<StorageConnection>();
        Assert.Equal((account, (int?)null), (storage.ConnectionString, storage.EmulatorBlobPort));
    }

    [Fact]
    public void The_app_choice_wins_over_the_setting_and_identity_endpoints_keep_their_credential()
    {
        TokenCredential credential = new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        using ServiceProvider services = Build(
            jobs => jobs.UseAzureStorage(new Uri("https://acct.blob.core.windows.net/"), new Uri("https://acct.queue.core.windows.net/"), new Uri("https://acct.table.core.windows.net/"), credential),
            new() { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" });

        StorageConnection storage = services.GetRequiredService<StorageConnection>();
        Assert.Null(storage.ConnectionString);
        Assert.Same(credential, storage.Endpoints!.Credential);
        Assert.Null(storage.EmulatorBlobPort);
    }

    private static ServiceProvider Build(Action<DurableJobsBuilder> configure, Dictionary<string, string?>? settings = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build());
        DurableJobsBuilder jobs = services.AddDurableJobs().AddBuiltInHandlers();
        configure(jobs);
        jobs.AddWorker();
        return services.BuildServiceProvider();
    }
}
