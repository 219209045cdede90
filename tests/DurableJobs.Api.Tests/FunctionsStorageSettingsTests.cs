using Azure.Core;
using DurableJobs.Engine.Hosting;
using DurableJobs.Functions;
using DurableJobs.Functions.Functions;
using DurableJobs.Orchestration.Signals;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Api.Tests;

/// <summary>
/// Issue 13 item 8: the Bicep deployment gives the Functions app identity-based storage settings
/// (<c>AzureWebJobsStorage__accountName</c>, <c>__credential</c>, <c>__clientId</c>) and disables shared keys; the app's
/// startup required a connection string and could not start there.
/// </summary>
public sealed class FunctionsStorageSettingsTests
{
    private const string Account = "durablejobsprod";

    [Fact]
    public async Task The_Functions_startup_accepts_the_Bicep_identity_based_settings_and_points_every_client_at_the_account()
    {
        var credential = new StubCredential();
        await using ServiceProvider services = Build(new Dictionary<string, string?>
        {
            // As the Bicep template sets them ('__' is ':' in configuration).
            ["AzureWebJobsStorage:accountName"] = Account,
            ["AzureWebJobsStorage:credential"] = "managedidentity",
            ["AzureWebJobsStorage:clientId"] = "00000000-0000-0000-0000-000000000001",
            ["DurableJobs:HubName"] = "Prod",
        }, credential);

        StorageConnection storage = services.GetRequiredService<StorageConnection>();
        Assert.Null(storage.ConnectionString);
        Assert.Same(credential, storage.Endpoints!.Credential);
        Assert.Equal(new Uri($"https://{Account}.blob.core.windows.net/prod-batches"), storage.CreateBlobContainerClient("prod-batches").Uri);
        Assert.Equal(new Uri($"https://{Account}.table.core.windows.net/ProdResults"), storage.CreateTableClient("ProdResults").Uri);
        Assert.Equal(new Uri($"https://{Account}.queue.core.windows.net/"), storage.CreateQueueServiceClient().Uri);
        Assert.Equal(new Uri($"https://{Account}.queue.core.windows.net/job-batches-poison"), services.GetRequiredService<PoisonQueue>().Uri);

        // Everything the functions need resolves without a key (nothing here talks to storage yet).
        Assert.NotNull(services.GetRequiredService<IBatchStore>());
        Assert.NotNull(services.GetRequiredService<IBatchCancellationSignals>());
        Assert.NotNull(ActivatorUtilities.CreateInstance<BatchHttpFunctions>(services));
        Assert.NotNull(ActivatorUtilities.CreateInstance<BatchQueueFunction>(services));
    }

    [Fact]
    public async Task Explicit_service_uris_win_over_the_account_name_and_keep_their_path()
    {
        await using ServiceProvider services = Build(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage:blobServiceUri"] = "https://blob.example.test/acct",
            ["AzureWebJobsStorage:queueServiceUri"] = "https://queue.example.test/acct/",
            ["AzureWebJobsStorage:tableServiceUri"] = "https://table.example.test/acct",
        }, new StubCredential());

        StorageConnection storage = services.GetRequiredService<StorageConnection>();
        Assert.Equal(new Uri("https://blob.example.test/acct/c"), storage.CreateBlobContainerClient("c").Uri);
        Assert.Equal(new Uri("https://queue.example.test/acct/job-batches-poison"), services.GetRequiredService<PoisonQueue>().Uri);
    }

    [Fact]
    public async Task A_connection_string_still_works_and_no_setting_at_all_names_both_forms()
    {
        await using ServiceProvider services = Build(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }, null);
        Assert.Equal("UseDevelopmentStorage=true", services.GetRequiredService<StorageConnection>().ConnectionString);

        InvalidOperationException missing = Assert.Throws<InvalidOperationException>(() => { _ = Build(new Dictionary<string, string?>(), null); });
        Assert.Contains("AzureWebJobsStorage__accountName", missing.Message, StringComparison.Ordinal);

        InvalidOperationException partial = Assert.Throws<InvalidOperationException>(() =>
        {
            _ = Build(new Dictionary<string, string?> { ["AzureWebJobsStorage:blobServiceUri"] = "https://blob.example.test/" }, null);
        });
        Assert.Contains("incomplete", partial.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings, TokenCredential? credential)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(configuration);
        if (credential is not null)
        {
            services.AddSingleton(credential);
        }

        services.AddDurableJobs().AddBuiltInHandlers().AddFunctionsIntegration(configuration);
        ServiceProvider provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<StorageConnection>(); // as the first function invocation would
        return provider;
    }

    /// <summary>A credential that is never asked here (no request is sent); it stands for the managed identity.</summary>
    private sealed class StubCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new("stub", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
