using System.Text;
using Azure;
using Azure.Data.Tables;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// Whether this worker may run an orchestration episode now, by Durable Task's partition table: it owns the
/// instance's partition, nobody is taking the partition over, and its lease has not lapsed.
/// </summary>
/// <remarks>
/// Why the engine checks what Durable Task's partition manager already decides: in the round in which that manager
/// releases a drained partition to the worker taking it over, it starts listening on the partition's control queue
/// again (its "listen unless draining" test sees neither a renewal nor a drain in that round), and stops only on its
/// next round, a second later. Its worker then dequeues the partition's messages beside the new owner, and both run
/// episodes of one orchestration (split brain, seen in the log as "Started listening" right after "Successfully drained
/// partition"). Durable Task discards the loser's history, but only after sending the loser's activity messages: a chunk
/// the winner never scheduled runs, and its result is matched by event id to a different chunk the winner did schedule.
/// Two workers joining one hub on a loaded machine ended a batch of 600 jobs, every one of them succeeded, as 534
/// succeeded and 73 failed. An episode this check refuses is not committed: <see cref="CompletionRetryingService"/>
/// aborts it, and its messages go back to the queue for the partition's owner. Messages a draining worker had buffered
/// but not started take the same way, rather than running while the partition changes hands.
/// </remarks>
/// <param name="partitions">Durable Task's partition table (<c>{hub}Partitions</c>).</param>
/// <param name="hubName">The task hub, as Durable Task names its control queues after it.</param>
/// <param name="partitionCount">The hub's partition count.</param>
/// <param name="workerId">This worker's id, as Durable Task writes it as a partition's owner.</param>
/// <param name="time">The clock a lease's expiry is compared with.</param>
internal sealed class PartitionOwnership(TableClient partitions, string hubName, int partitionCount, string workerId, TimeProvider? time = null)
{
    /// <summary>The partition table's columns the check reads.</summary>
    private static readonly string[] Columns = [nameof(Lease.CurrentOwner), nameof(Lease.NextOwner), nameof(Lease.ExpiresAt), nameof(Lease.IsDraining)];

    /// <summary>The clock of <see cref="MayRun"/>.</summary>
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>
    /// Reads the partition of <paramref name="instanceId"/> and says whether this worker may run its episode now. A row
    /// that cannot be read (storage trouble, a stopping worker, or a partition manager without the table) lets it run:
    /// that is how the engine behaved before the check, and an outage must not stop a worker that does own its
    /// partitions. It never throws: the answer is awaited as the episode completes, and an outage must not turn every
    /// episode into a failed completion there.
    /// </summary>
    public async Task<bool> MayRunAsync(string instanceId, CancellationToken cancellationToken)
    {
        NullableResponse<TableEntity> row;
        try
        {
            row = await partitions.GetEntityIfExistsAsync<TableEntity>(string.Empty, ControlQueueOf(hubName, partitionCount, instanceId), Columns, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return true;
        }

        return !row.HasValue || MayRun(ToLease(row.Value!), workerId, clock.GetUtcNow());
    }

    /// <summary>
    /// The rule: the partition is this worker's, not being taken over or drained, and its lease runs past
    /// <paramref name="now"/> (a lapsed lease may be claimed by another worker at any moment).
    /// </summary>
    internal static bool MayRun(Lease lease, string workerId, DateTimeOffset now) =>
        string.Equals(lease.CurrentOwner, workerId, StringComparison.Ordinal)
        && string.IsNullOrEmpty(lease.NextOwner)
        && !lease.IsDraining
        && (lease.ExpiresAt is not { } expires || expires > now);

    /// <summary>
    /// The control queue (and so the partition) of <paramref name="instanceId"/>, as Durable Task's Azure Storage
    /// backend picks it: the 32-bit FNV-1a hash of the id's UTF-8 bytes, modulo the partition count.
    /// </summary>
    internal static string ControlQueueOf(string hubName, int partitionCount, string instanceId)
    {
        const uint OffsetBasis = 2166136261;
        const uint Prime = 16777619;
        uint hash = OffsetBasis;
        foreach (byte b in Encoding.UTF8.GetBytes(instanceId))
        {
            hash = unchecked((hash ^ b) * Prime);
        }

        return $"{hubName.ToLowerInvariant()}-control-{hash % (uint)partitionCount:00}";
    }

    private static Lease ToLease(TableEntity row) => new(
        row.GetString(nameof(Lease.CurrentOwner)),
        row.GetString(nameof(Lease.NextOwner)),
        row.GetDateTimeOffset(nameof(Lease.ExpiresAt)),
        row.GetBoolean(nameof(Lease.IsDraining)) ?? false);

    /// <summary>What the check reads of a partition's row.</summary>
    /// <param name="CurrentOwner">The worker that owns the partition, or null while it is free.</param>
    /// <param name="NextOwner">The worker taking it over, or null.</param>
    /// <param name="ExpiresAt">When the owner's lease lapses unless renewed.</param>
    /// <param name="IsDraining">Whether the owner is draining it (to hand it over or to stop).</param>
    internal sealed record Lease(string? CurrentOwner, string? NextOwner, DateTimeOffset? ExpiresAt, bool IsDraining);
}
