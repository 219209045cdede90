using DurableJobs.Core.Limits;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Limits;

/// <summary>
/// One named limit in one worker process. Jobs take permits from the process's lease in the limit's row without any
/// storage call; a background loop grows the lease when jobs wait (a compare-and-swap on the row that never lets the
/// leases sum past the limit), renews it, and gives unused permits back. Waiting jobs are served in turns by batch,
/// so a large batch cannot starve a small one. Tokens of a rate limit are taken from the row's bucket the same way.
/// </summary>
internal sealed partial class LimitGate : IAsyncDisposable
{
    private readonly object sync = new();
    private readonly string name;
    private readonly string holder;
    private readonly ILimitStore store;
    private readonly LimitSettings? declared;
    private readonly LimitGateOptions options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly SemaphoreSlim wake = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly LimitTurnQueue<Waiter> waiting = new();
    private readonly Task loop;

    private LimitSettings? settings;
    private int leased;
    private int cap;
    private int inUse;
    private int waiters;
    private double tokens;
    private DateTimeOffset leaseExpires;
    private DateTimeOffset idleSince;
    private int lastWant;
    private int shareCap = int.MaxValue;
    private (int? Batches, int? Weight) lastWaiting;
    private Exception? fault;
    private int pendingThrottles;
    private DateTimeOffset lastThrottledGrant;
    private int pendingClean;
    private int? effective;

    /// <summary>Whether another holder asked the row for more permits at the last round with it.</summary>
    private bool othersWant;

    /// <summary>Whether the leases held the whole (effective) limit after the last round: one more job anywhere must wait.</summary>
    private bool rowFull;

    /// <summary>When the loop comes back to the row unless woken.</summary>
    private DateTimeOffset nextSync = DateTimeOffset.MaxValue;

    public LimitGate(string name, string holder, ILimitStore store, LimitSettings? declared, LimitGateOptions options, TimeProvider time, ILogger logger)
    {
        this.name = name;
        this.holder = holder;
        this.store = store;
        this.declared = declared;
        this.options = options;
        this.time = time;
        this.logger = logger;
        settings = declared;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Row reads, successful writes and lost compare-and-swaps so far (the cost of the limit).</summary>
    public (long Reads, long Writes, long Conflicts) Operations => (Interlocked.Read(ref reads), Interlocked.Read(ref writes), Interlocked.Read(ref conflicts));

    private long reads, writes, conflicts;

    /// <summary>Jobs holding a permit here now.</summary>
    public int InUse
    {
        get
        {
            lock (sync)
            {
                return inUse;
            }
        }
    }

    /// <summary>Rate tokens taken from the row's bucket and not yet spent on a job here.</summary>
    public double HeldTokens
    {
        get
        {
            lock (sync)
            {
                return tokens;
            }
        }
    }

    /// <summary>The effective concurrency last read from the row (null before the first read, or without <c>maxConcurrent</c>).</summary>
    public int? Effective
    {
        get
        {
            lock (sync)
            {
                return effective;
            }
        }
    }

    /// <summary>
    /// A job granted a permit here at <paramref name="grantedAt"/> was throttled by the downstream: the next round with the
    /// row cuts the effective concurrency (soon: the loop is woken).
    /// </summary>
    public void Throttled(DateTimeOffset grantedAt)
    {
        lock (sync)
        {
            if (settings?.MaxConcurrent is null)
            {
                return;
            }

            pendingThrottles++;
            lastThrottledGrant = grantedAt > lastThrottledGrant ? grantedAt : lastThrottledGrant;
        }

        Wake();
    }

    /// <summary>
    /// A job holding a permit here ended cleanly: counted in memory towards the next step up while the limit is cut, and
    /// written with the next round with the row (woken once a window's worth is counted here).
    /// </summary>
    public void Succeeded()
    {
        bool stepDue;
        lock (sync)
        {
            if (effective is not { } e || settings?.MaxConcurrent is not { } max || e >= max)
            {
                return;
            }

            stepDue = ++pendingClean == e;
        }

        if (stepDue)
        {
            Wake();
        }
    }

    /// <summary>Waits for a permit (and a token, for a rate limit) in <paramref name="batchId"/>'s turn.</summary>
    public ValueTask AcquireAsync(string batchId, CancellationToken cancellationToken) =>
        AcquireAsync(new LimitClaim(batchId, null, null), cancellationToken);

    /// <summary>Waits for a permit (and a token, for a rate limit) in the turn of <paramref name="claim"/>'s tenant and batch.</summary>
    public async ValueTask AcquireAsync(LimitClaim claim, CancellationToken cancellationToken)
    {
        Waiter waiter;
        lock (sync)
        {
            if (fault is not null)
            {
                throw new InvalidOperationException($"Limit '{name}' cannot be taken: {fault.Message}", fault);
            }

            if (waiters == 0 && CanGrantLocked())
            {
                TakeLocked();
                return;
            }

            waiter = new Waiter();
            waiter.Entry = waiting.Enqueue(claim, waiter);
            waiters++;
        }

        Wake();
        await using (cancellationToken.Register(() => Cancel(waiter)).ConfigureAwait(false))
        {
            await waiter.Granted.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Gives a permit back; a job waiting here gets it at once.</summary>
    public void Release()
    {
        bool giveBack;
        lock (sync)
        {
            inUse--;
            DurableJobsTelemetry.LimitPermitsInUse.Add(-1, new KeyValuePair<string, object?>(TelemetryTags.Limit, name));
            GrantLocked();
            if (waiters == 0)
            {
                // Not granted on: a permit of the lease goes idle now. The lease shrinks to what is in use only once no
                // permit has gone idle for the linger (a round between two releases of a chunk's tail must not count the
                // first idle permit's wait as the whole lease's, shrink it while the row is full, and then sleep).
                idleSince = time.GetUtcNow();
            }

            // A permit left idle here goes back to the row soon, not at the lease's renewal, when someone may need it: at
            // once when another holder asked for one at the last round, after the linger when the leases held the whole
            // limit (a holder may have started asking since). Jobs of the next chunk arriving meanwhile take it without a
            // round trip; the wake costs one round per idle spell, not per job, and none while the limit has room.
            giveBack = leased > inUse && (cap < leased || (waiters == 0 && (othersWant || (rowFull && nextSync > time.GetUtcNow() + options.Linger))));
        }

        if (giveBack)
        {
            Wake();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        Wake();
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Hand the lease back at once rather than after it expires: shutdown releases permits.
        if (leased > 0 || lastWant > 0)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            for (int attempt = 0; attempt < 5; attempt++)
            {
                try
                {
                    LimitRow? row = await store.ReadAsync(name, timeout.Token).ConfigureAwait(false);
                    if (row is null || !row.Leases.ContainsKey(holder))
                    {
                        break;
                    }

                    var leases = row.Leases.Where(p => p.Key != holder).ToDictionary();
                    if (await store.TryWriteAsync(row with { Leases = leases }, timeout.Token).ConfigureAwait(false) is not null)
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogGiveBackFailed(logger, ex, name);
                    break;
                }
            }
        }

        stopping.Dispose();
        wake.Dispose();
    }

    private bool CanGrantLocked()
    {
        if (settings is not { } s)
        {
            return false;
        }

        bool permit = s.MaxConcurrent is null || (inUse < cap && time.GetUtcNow() < leaseExpires);
        bool token = s.RatePerSecond is null || tokens >= 1;
        return permit && token;
    }

    private void TakeLocked()
    {
        inUse++;
        DurableJobsTelemetry.LimitPermitsInUse.Add(1, new KeyValuePair<string, object?>(TelemetryTags.Limit, name));
        if (settings?.RatePerSecond is not null)
        {
            tokens--;
        }
    }

    /// <summary>Grants waiting jobs while permits last, in turns by tenant and batch (<see cref="LimitTurnQueue{T}"/>).</summary>
    private void GrantLocked()
    {
        while (waiters > 0 && CanGrantLocked())
        {
            Waiter next = waiting.Dequeue();
            waiters--;
            TakeLocked();
            next.Granted.TrySetResult();
        }
    }

    private void Cancel(Waiter waiter)
    {
        lock (sync)
        {
            if (waiter.Entry is null || !waiting.Remove(waiter.Entry))
            {
                // Granted already: the job holds the permit and gives it back when it ends.
                return;
            }

            waiters--;
        }

        waiter.Granted.TrySetCanceled();
    }

    private void Wake()
    {
        try
        {
            if (wake.CurrentCount == 0)
            {
                wake.Release();
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RunAsync()
    {
        CancellationToken stop = stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan delay;
            lock (sync)
            {
                // A permit idled during the round is handed back by the round after it (see Release).
                nextSync = DateTimeOffset.MaxValue;
            }

            try
            {
                delay = await SyncAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Storage trouble: keep the permits leased (until they expire) and try again soon.
                LogSyncFailed(logger, ex, name);
                delay = options.PollInterval * 5;
            }

            lock (sync)
            {
                nextSync = delay == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : time.GetUtcNow() + delay;
            }

            try
            {
                await wake.WaitAsync(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round with the row: grow, renew or shrink the lease and take tokens; returns when to come back.</summary>
    internal async Task<TimeSpan> SyncAsync(CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            LimitRow? stored = await store.ReadAsync(name, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref reads);
            DateTimeOffset now = time.GetUtcNow();
            if (stored is null && declared is null)
            {
                FailWaiters(new InvalidOperationException("it is not declared on this worker nor stored"));
                return Timeout.InfiniteTimeSpan;
            }

            LimitRow row = stored ?? new LimitRow { Name = name, Settings = declared!, Tokens = declared!.EffectiveBurst, TokensAt = now };
            LimitRow? next;
            int target, take, want;
            bool shrinking;
            int throttlesTaken, cleanTaken;
            bool adapted;
            lock (sync)
            {
                settings = row.Settings;
                (row, throttlesTaken, cleanTaken, adapted) = AdaptLocked(row, now);
                Dictionary<string, LimitLease> others = row.Leases.Where(p => p.Key != holder && p.Value.ExpiresAt > now).ToDictionary();
                want = inUse + waiters;
                target = 0;
                if (row.EffectiveConcurrency is { } max)
                {
                    int free = max - others.Values.Sum(l => l.Permits);
                    int othersWaiting = others.Values.Count(l => l.Want > 0);
                    othersWant = othersWaiting > 0;
                    shareCap = ShareOf(max, holder, waiting.Weight, others.Where(p => p.Value.Want > 0).Select(p => KeyValuePair.Create(p.Key, p.Value.WaitingWeight)));

                    // Over the effective value after a cut: running jobs keep their permits, but none starts here until
                    // enough have ended (a no-op when uncut: the lease is within the free permits then).
                    shareCap = Math.Min(shareCap, Math.Max(0, free));
                    if (want > leased)
                    {
                        target = Math.Max(inUse, Math.Min(want, free));
                    }
                    else
                    {
                        bool idleLongEnough = waiters == 0 && now - idleSince >= options.Linger;
                        target = othersWaiting > 0 || idleLongEnough ? want : leased;
                    }

                    // Others wait: keep no more than an equal share, so permits move to them as this worker's jobs end
                    // (no new job starts here above the share, and each one ending here hands its permit back).
                    target = Math.Min(target, Math.Max(shareCap, inUse));

                    target = Math.Min(target, Math.Max(inUse, free));
                    rowFull = free - target <= 0;
                }

                take = 0;
                double bucket = row.Tokens;
                if (row.Settings.RatePerSecond is { } rate)
                {
                    bucket = Math.Min(row.Settings.EffectiveBurst, row.Tokens + (rate * Math.Max(0, (now - row.TokensAt).TotalSeconds)));
                    // Waiting jobs take a few polls' worth at once, so a slow round with the row does not cap the rate.
                    int shortBy = waiters - (int)Math.Floor(tokens);
                    int chunk = shortBy > 0 ? Math.Max(shortBy, (int)Math.Ceiling(rate * options.PollInterval.TotalSeconds * 5)) : 0;
                    take = Math.Max(0, Math.Min((int)Math.Floor(bucket), chunk));
                    bucket -= take;
                }

                int wantMore = Math.Max(0, want - target);
                (int? waitingBatches, int? waitingWeight) = wantMore > 0 && waiting.Batches > 0 ? (waiting.Batches, waiting.Weight) : ((int?)null, (int?)null);
                bool unchanged = !adapted && stored is not null && target == leased && take == 0 && wantMore == lastWant && leaseExpires - now > options.LeaseDuration * 2 / 3
                    && waitingBatches == lastWaiting.Batches && waitingWeight == lastWaiting.Weight;
                if (unchanged || (stored is null && target == 0 && take == 0 && wantMore == 0))
                {
                    cap = Math.Min(leased, shareCap);
                    GrantLocked();
                    return NextDelayLocked(now, row);
                }

                if (target > 0 || wantMore > 0)
                {
                    others[holder] = new LimitLease(target, wantMore, now + options.LeaseDuration, waitingBatches, waitingWeight);
                }

                // While the smaller lease is being written no job may take a permit above it.
                shrinking = target < leased;
                if (shrinking)
                {
                    cap = Math.Min(target, shareCap);
                }

                next = row with { Leases = others, Tokens = bucket, TokensAt = row.Settings.RatePerSecond is null ? row.TokensAt : now };
                lastWant = wantMore;
                lastWaiting = (waitingBatches, waitingWeight);
            }

            LimitRow? written;
            try
            {
                written = await store.TryWriteAsync(next, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                RestoreCap();
                throw;
            }

            if (written is null)
            {
                Interlocked.Increment(ref conflicts);
                RestoreCap();
                if (attempt >= 20)
                {
                    return options.PollInterval;
                }

                continue;
            }

            Interlocked.Increment(ref writes);
            lock (sync)
            {
                pendingThrottles -= throttlesTaken;
                if (pendingThrottles == 0)
                {
                    lastThrottledGrant = DateTimeOffset.MinValue;
                }

                pendingClean -= cleanTaken;
                SetEffectiveLocked(written);
                leased = target;
                cap = Math.Min(target, shareCap);
                leaseExpires = now + options.LeaseDuration;
                tokens += take;
                GrantLocked();
                return NextDelayLocked(now, written);
            }
        }
    }

    /// <summary>
    /// <paramref name="row"/> with this worker's throttles and clean completions applied (AIMD): a throttle from a job
    /// granted after the last cut, past the cool-down, halves the effective concurrency (at least 1); each window of clean
    /// completions as large as the effective value raises it by 1, up to <c>maxConcurrent</c>. Returns the counts to
    /// take off once the row is written, and whether the row must be written for them.
    /// </summary>
    private (LimitRow Row, int Throttles, int Clean, bool Changed) AdaptLocked(LimitRow row, DateTimeOffset now)
    {
        SetEffectiveLocked(row);
        if (row.EffectiveConcurrency is not { } current || row.Settings.MaxConcurrent is not { } max)
        {
            pendingThrottles = 0;
            pendingClean = 0;
            return (row, 0, 0, false);
        }

        if (pendingThrottles > 0)
        {
            bool cooling = row.CutAt is { } cutAt && (now - cutAt < options.ThrottleCooldown || lastThrottledGrant < cutAt);
            if (cooling || current == 1)
            {
                // The same overload that cut it already (or nothing left to cut): the throttles are spent.
                pendingThrottles = 0;
                lastThrottledGrant = DateTimeOffset.MinValue;
            }
            else
            {
                // Clean completions counted before the cut do not count towards growing back from it.
                return (row with { Effective = Math.Max(1, current / 2), CutAt = now, Clean = 0 }, pendingThrottles, pendingClean, true);
            }
        }

        if (current >= max)
        {
            pendingClean = 0;
            return (row, 0, 0, false);
        }

        if (pendingClean == 0)
        {
            return (row, 0, 0, false);
        }

        int clean = row.Clean + pendingClean;
        int grown = current;
        while (grown < max && clean >= grown)
        {
            clean -= grown;
            grown++;
        }

        // A step up is worth a write; counts short of one ride along with the next write that happens anyway.
        LimitRow counted = grown >= max ? row with { Effective = null, Clean = 0 } : row with { Effective = grown, Clean = clean };
        return (counted, 0, pendingClean, grown > current);
    }

    private void SetEffectiveLocked(LimitRow row)
    {
        effective = row.EffectiveConcurrency;
        if (effective is { } value)
        {
            DurableJobsTelemetry.LimitEffective.Record(value, new KeyValuePair<string, object?>(TelemetryTags.Limit, name));
        }
    }

    /// <summary>
    /// The permits <paramref name="holder"/>, whose waiting weighs <paramref name="ownWeight"/>, keeps while
    /// <paramref name="othersWaiting"/> (holder → weight) wait too: one each, and the rest of <paramref name="max"/> in
    /// proportion to the weights, the permits left by rounding down going to the largest remainders (ties by holder
    /// name). Every holder computes the same split from the row, so the shares add up to the limit and a holder of the
    /// lowest weight still keeps a permit. A holder with nothing waiting counts as one batch of the default priority, as
    /// every holder did before weights. With more holders waiting than the limit, each keeps one (the row decides who holds).
    /// </summary>
    internal static int ShareOf(int max, string holder, int ownWeight, IEnumerable<KeyValuePair<string, int>> othersWaiting)
    {
        static long Weigh(int weight) => weight > 0 ? weight : LimitTurns.DefaultPriority;
        var members = othersWaiting.Select(p => (Name: p.Key, Weight: Weigh(p.Value))).ToList();
        if (members.Count == 0)
        {
            return int.MaxValue;
        }

        members.Add((holder, Weigh(ownWeight)));
        long rest = max - members.Count;
        if (rest <= 0)
        {
            return 1;
        }

        long total = members.Sum(m => m.Weight);
        long own = members[^1].Weight;
        long share = 1 + (rest * own / total);
        long left = rest - members.Sum(m => rest * m.Weight / total);
        long ownRemainder = rest * own % total;
        int ahead = members.Count(m => m.Name != holder
            && ((rest * m.Weight % total) > ownRemainder || ((rest * m.Weight % total) == ownRemainder && string.CompareOrdinal(m.Name, holder) < 0)));
        return (int)(share + (ahead < left ? 1 : 0));
    }

    private void RestoreCap()
    {
        lock (sync)
        {
            cap = Math.Min(leased, shareCap);
        }
    }

    private TimeSpan NextDelayLocked(DateTimeOffset now, LimitRow row)
    {
        if (waiters > 0)
        {
            if (row.Settings.RatePerSecond is { } rate && tokens < 1)
            {
                double missing = Math.Max(0, 1 - (row.Tokens + (rate * Math.Max(0, (now - row.TokensAt).TotalSeconds))));
                return TimeSpan.FromSeconds(Math.Clamp(missing / rate, 0.005, options.PollInterval.TotalSeconds));
            }

            return options.PollInterval;
        }

        // Unused permits, or a wish for more in the row that no job here has any more: clear them soon (idle permits once
        // the last one to go idle has lingered).
        if (leased > inUse)
        {
            TimeSpan lingered = now - idleSince;
            return lingered >= options.Linger ? options.Linger : options.Linger - lingered + TimeSpan.FromMilliseconds(1);
        }

        if (lastWant > 0)
        {
            return options.Linger;
        }

        return leased > 0 ? options.LeaseDuration / 3 : Timeout.InfiniteTimeSpan;
    }

    private void FailWaiters(Exception ex)
    {
        List<Waiter> failed;
        lock (sync)
        {
            fault = ex;
            failed = waiting.Clear();
            waiters = 0;
        }

        foreach (Waiter w in failed)
        {
            w.Granted.TrySetException(new InvalidOperationException($"Limit '{name}' cannot be taken: {ex.Message}", ex));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Limit {Limit}: the lease row could not be read or written; retrying")]
    private static partial void LogSyncFailed(ILogger logger, Exception ex, string limit);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Limit {Limit}: the lease could not be handed back at shutdown; it expires")]
    private static partial void LogGiveBackFailed(ILogger logger, Exception ex, string limit);

    private sealed class Waiter
    {
        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LimitTurnQueue<Waiter>.Entry? Entry { get; set; }
    }
}
