using System.Reflection;
using Azure.Data.Tables;
using DurableJobs.Engine.Hosting;
using DurableTask.AzureStorage;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests;

[Collection(EmulatorCollection.Name)]
public sealed class PartitionOwnershipTests(EmulatorFixture fixture)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ControlQueueOf_PicksTheQueueDurableTasksOwnRoutingPicks_For2000IdsAnd1To16Partitions()
    {
        // Durable Task's own routing, read through reflection: ours must agree with it exactly, or the check would read
        // another partition's owner.
        Assembly durableTask = typeof(AzureStorageOrchestrationService).Assembly;
        MethodInfo hash = durableTask.GetType("DurableTask.AzureStorage.Fnv1aHashHelper", throwOnError: true)!.GetMethod("ComputeHash", BindingFlags.Public | BindingFlags.Static, [typeof(string)])!;
        MethodInfo queueName = typeof(AzureStorageOrchestrationService).GetMethod("GetControlQueueName", BindingFlags.NonPublic | BindingFlags.Static)!;
        var random = new Random(7);
        for (int i = 0; i < 2_000; i++)
        {
            int partitions = 1 + (i % 16);
            string id = i % 3 == 0 ? Guid.NewGuid().ToString("N") : $"batch-{random.Next()}:part-{i}-é";
            uint expectedHash = (uint)hash.Invoke(null, [id])!;
            string expected = (string)queueName.Invoke(null, ["MyHub", (int)(expectedHash % (uint)partitions)])!;
            Assert.Equal(expected, PartitionOwnership.ControlQueueOf("MyHub", partitions, id));
        }
    }

    [Theory]
    [InlineData("me", null, 60, false, true)]
    [InlineData("other", null, 60, false, false)]
    [InlineData(null, "me", 60, false, false)]
    [InlineData(null, null, 60, false, false)]
    [InlineData("me", "other", 60, false, false)]
    [InlineData("me", null, 60, true, false)]
    [InlineData("me", null, -1, false, false)]
    public void MayRun_OnlyWhenThisWorkerOwnsThePartition_NobodyTakesItOver_NotDraining_LeaseLive(string? owner, string? next, int expiresInSeconds, bool draining, bool expected) =>
        Assert.Equal(expected, PartitionOwnership.MayRun(new PartitionOwnership.Lease(owner, next, Now.AddSeconds(expiresInSeconds), draining), "me", Now));

    /// <summary>
    /// What Durable Task's table partition manager does in the round in which it releases a drained partition: it hands
    /// this worker the partition's messages again. Before the check the episode was committed (split brain with the new
    /// owner, its activity messages sent); now it is aborted the way Durable Task aborts an episode another worker
    /// committed first (the dispatcher then abandons the work item), and nothing reaches the inner service's completion.
    /// </summary>
    [Fact]
    public async Task An_episode_of_a_partition_released_to_another_worker_is_aborted_not_committed_while_owned_and_unreadable_ones_commit()
    {
        string hub = "own" + Guid.NewGuid().ToString("N")[..10];
        var table = new TableClient(fixture.Emulator.ConnectionString, hub + "Partitions");
        await table.CreateIfNotExistsAsync();
        const string Released = "batch-released", Owned = "batch-owned", Unknown = "batch-no-row";
        Assert.Equal(3, new[] { Released, Owned, Unknown }.Select(id => PartitionOwnership.ControlQueueOf(hub, 4, id)).Distinct().Count());
        await table.AddEntityAsync(new TableEntity(string.Empty, PartitionOwnership.ControlQueueOf(hub, 4, Released)) { ["CurrentOwner"] = null, ["NextOwner"] = "b", ["IsDraining"] = false, ["ExpiresAt"] = DateTime.UtcNow.AddMinutes(1) });
        await table.AddEntityAsync(new TableEntity(string.Empty, PartitionOwnership.ControlQueueOf(hub, 4, Owned)) { ["CurrentOwner"] = "a", ["IsDraining"] = false, ["ExpiresAt"] = DateTime.UtcNow.AddMinutes(1) });
        OrchestrationWorkItems inner = OrchestrationWorkItems.Create();
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.Zero, ownership: new PartitionOwnership(table, hub, 4, "a"));

        foreach (string instance in new[] { Released, Owned, Unknown })
        {
            inner.Next = instance;
            TaskOrchestrationWorkItem item = await service.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
            try
            {
                await service.CompleteTaskOrchestrationWorkItemAsync(item, new OrchestrationRuntimeState(), [], [], [], null!, null!);
            }
            catch (SessionAbortedException)
            {
                inner.Calls.Add($"aborted {instance}");
            }

            await service.ReleaseTaskOrchestrationWorkItemAsync(item);
        }

        Assert.Equal([$"aborted {Released}", $"release {Released}", $"complete {Owned}", $"release {Owned}", $"complete {Unknown}", $"release {Unknown}"], inner.Calls);
    }

    /// <summary>
    /// A partition table that cannot be read (here: none exists) or a read cut short by the dispatcher's token lets the
    /// episode commit, as before the check: an outage must not stop a worker that owns its partitions.
    /// </summary>
    [Fact]
    public async Task An_episode_whose_partition_cannot_be_read_commits()
    {
        var missing = new TableClient(fixture.Emulator.ConnectionString, "own" + Guid.NewGuid().ToString("N")[..10] + "Partitions");
        OrchestrationWorkItems inner = OrchestrationWorkItems.Create();
        inner.Next = "batch-1";
        var service = new CompletionRetryingService((IOrchestrationService)(object)inner, CancellationToken.None, NullLogger.Instance, TimeSpan.Zero, ownership: new PartitionOwnership(missing, "hub", 4, "a"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        foreach (CancellationToken token in new[] { CancellationToken.None, cancelled.Token })
        {
            TaskOrchestrationWorkItem item = await service.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(1), token);
            await service.CompleteTaskOrchestrationWorkItemAsync(item, new OrchestrationRuntimeState(), [], [], [], null!, null!);
            await service.ReleaseTaskOrchestrationWorkItemAsync(item);
        }

        Assert.Equal(["complete batch-1", "release batch-1", "complete batch-1", "release batch-1"], inner.Calls);
    }

    /// <summary>The inner service, as far as orchestration work items go: hands out one for <see cref="Next"/>, records completions and releases.</summary>
    public class OrchestrationWorkItems : DispatchProxy
    {
        /// <summary>The instance of the next work item handed out.</summary>
        public string Next { get; set; } = string.Empty;

        /// <summary>Completions and releases, in order (the test adds the aborts it sees).</summary>
        public List<string> Calls { get; } = [];

        public static OrchestrationWorkItems Create() => (OrchestrationWorkItems)(object)Create<IOrchestrationService, OrchestrationWorkItems>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod?.Name)
            {
                case nameof(IOrchestrationService.LockNextTaskOrchestrationWorkItemAsync):
                    return Task.FromResult(new TaskOrchestrationWorkItem { InstanceId = Next, NewMessages = [] });
                case nameof(IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync):
                    Calls.Add($"complete {((TaskOrchestrationWorkItem)args![0]!).InstanceId}");
                    return Task.CompletedTask;
                case nameof(IOrchestrationService.ReleaseTaskOrchestrationWorkItemAsync):
                    Calls.Add($"release {((TaskOrchestrationWorkItem)args![0]!).InstanceId}");
                    return Task.CompletedTask;
                default:
                    throw new NotSupportedException(targetMethod?.Name);
            }
        }
    }
}
