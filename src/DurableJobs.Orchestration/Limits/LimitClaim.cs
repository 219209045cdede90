using DurableJobs.Core.Limits;

namespace DurableJobs.Orchestration.Limits;

/// <summary>
/// Who waits for a named limit: a job of <paramref name="BatchId"/>, with the batch's priority and tenant (absent: the
/// default priority, and the batch as a tenant of its own).
/// </summary>
internal readonly record struct LimitClaim(string BatchId, int? Priority, string? Tenant)
{
    /// <summary>The batch's weight in the turns: its priority, or the default.</summary>
    public int Weight => Math.Clamp(Priority ?? LimitTurns.DefaultPriority, LimitTurns.MinPriority, LimitTurns.MaxPriority);

    /// <summary>The tenant whose turns the batch shares; a batch without one is its own (a key no tenant can take: tenants have no ':').</summary>
    public string TenantKey => Tenant ?? ":" + BatchId;
}
