namespace DurableJobs.Orchestration.Limits;

/// <summary>Timings of the limit leases (the defaults suit Azure Storage; tests shorten them).</summary>
internal sealed record LimitGateOptions
{
    /// <summary>A lease not renewed for this long is free for other workers: how soon a killed worker's permits come back.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a worker with jobs waiting asks the row for more permits or tokens.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long unused permits stay leased before they go back (no other worker waiting): saves a write per chunk.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// After a throttle cuts the effective concurrency, further throttles cut again only once this has passed (and only
    /// from jobs granted after the cut), so one overload's burst of throttles halves it once, not down to 1.
    /// </summary>
    public TimeSpan ThrottleCooldown { get; init; } = TimeSpan.FromSeconds(1);
}
