using DurableJobs.Engine.Hosting;
using DurableTask.AzureStorage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests;

public sealed class EngineOptionsTests
{
    [Fact]
    public void The_defaults_bring_a_killed_workers_partitions_and_chunks_back_within_10_s_and_tolerate_a_6_s_stall()
    {
        var options = new EngineOptions();
        options.Validate();

        // Partitions: claimable a lease interval after the last renewal, taken at the next acquire round.
        Assert.True(options.LeaseInterval + options.LeaseAcquireInterval <= TimeSpan.FromSeconds(10), $"{options.LeaseInterval} + {options.LeaseAcquireInterval}");

        // Chunks and orchestration messages the dead worker had read come back after their visibility timeout.
        Assert.True(options.WorkItemQueueVisibilityTimeout <= TimeSpan.FromSeconds(10), options.WorkItemQueueVisibilityTimeout.ToString());
        Assert.True(options.ControlQueueVisibilityTimeout <= TimeSpan.FromSeconds(10), options.ControlQueueVisibilityTimeout.ToString());

        // A live worker keeps its leases through a 6 s stall of its renewals, and its running chunks through a renewal
        // 5 s late (Durable Task renews every 5 s).
        Assert.True(options.LeaseInterval - options.LeaseAcquireInterval >= TimeSpan.FromSeconds(6));
        Assert.True(options.WorkItemQueueVisibilityTimeout - EngineOptions.MinimumVisibilityTimeout >= TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData(8, 5, 2, 10, 10)] // renewed less than twice per lease
    [InlineData(8, 2, 5, 10, 10)] // acquired less than twice per lease
    [InlineData(8, 0, 2, 10, 10)] // never renewed
    [InlineData(8, 2, 2, 5, 10)] // chunk visibility at Durable Task's 5 s renewal period: running chunks delivered twice
    [InlineData(8, 2, 2, 10, 4)] // same for orchestration messages
    public void Lease_and_visibility_settings_that_would_churn_or_deliver_running_work_twice_are_refused(int lease, int renew, int acquire, int workItemVisibility, int controlVisibility)
    {
        var options = new EngineOptions
        {
            LeaseInterval = TimeSpan.FromSeconds(lease),
            LeaseRenewInterval = TimeSpan.FromSeconds(renew),
            LeaseAcquireInterval = TimeSpan.FromSeconds(acquire),
            WorkItemQueueVisibilityTimeout = TimeSpan.FromSeconds(workItemVisibility),
            ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(controlVisibility),
        };

        Assert.Throws<InvalidOperationException>(options.Validate);
    }

    [Fact]
    public void Durable_Tasks_own_lease_and_visibility_defaults_are_still_accepted_when_configured()
    {
        var options = new EngineOptions
        {
            LeaseInterval = TimeSpan.FromSeconds(30),
            LeaseRenewInterval = TimeSpan.FromSeconds(10),
            LeaseAcquireInterval = TimeSpan.FromSeconds(10),
            WorkItemQueueVisibilityTimeout = TimeSpan.FromMinutes(5),
            ControlQueueVisibilityTimeout = TimeSpan.FromMinutes(5),
        };

        options.Validate();
    }

    [Fact]
    public void The_engines_Durable_Task_settings_carry_its_options_and_no_app_lease_so_every_worker_of_a_hub_takes_partitions_at_once()
    {
        var options = new EngineOptions { HubName = "settingshub", PartitionCount = 3, LeaseInterval = TimeSpan.FromSeconds(9), MaxQueuePollingInterval = TimeSpan.FromMilliseconds(300) };

        AzureStorageOrchestrationServiceSettings settings = DurableJobsEngine.CreateServiceSettings(
            options, new StorageAccountClientProvider("UseDevelopmentStorage=true"), NullLoggerFactory.Instance, "worker-7");

        Assert.Equal(("settingshub", 3, TimeSpan.FromSeconds(9), TimeSpan.FromMilliseconds(300), "worker-7"), (settings.TaskHubName, settings.PartitionCount, settings.LeaseInterval, settings.MaxQueuePollingInterval, settings.WorkerId));
        Assert.Equal((options.LeaseRenewInterval, options.LeaseAcquireInterval, options.WorkItemQueueVisibilityTimeout, options.ControlQueueVisibilityTimeout), (settings.LeaseRenewInterval, settings.LeaseAcquireInterval, settings.WorkItemQueueVisibilityTimeout, settings.ControlQueueVisibilityTimeout));

        // Durable Task's default is true: a worker whose environment names another app (WEBSITE_SITE_NAME, DTFX_APP_NAME)
        // would take the hub from the others, and a fresh worker took partitions only after the lease's blob round trips.
        Assert.False(settings.UseAppLease);
    }
}
