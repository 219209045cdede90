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
    private readonly Dictionary<string, LinkedList<Waiter>> waiting = new(StringComparer.Ordinal);
    private readonly LinkedList<string> turns = new();
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
    private Exception? fault;
    private int pendingThrottles;
    private DateTimeOffset lastThrottledGrant;
    private int pendingClean;
    private int? effective;

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
    public async ValueTask AcquireAsync(string batchId, CancellationToken cancellationToken)
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

            waiter = new Waiter(batchId);
            if (!waiting.TryGetValue(batchId, out LinkedList<Waiter>? queue))
            {
                queue = new LinkedList<Waiter>();
                waiting[batchId] = queue;
                turns.AddLast(batchId);
            }

            waiter.Node = queue.AddLast(waiter);
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
            if (inUse == 0 && waiters == 0)
            {
                idleSince = time.GetUtcNow();
            }

            giveBack = leased > inUse && cap < leased;
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

    /// <summary>Grants waiting jobs while permits last: one per batch in turn.</summary>
    private void GrantLocked()
    {
        while (waiters > 0 && CanGrantLocked())
        {
            string batch = turns.First!.Value;
            turns.RemoveFirst();
            LinkedList<Waiter> queue = waiting[batch];
            Waiter next = queue.First!.Value;
            queue.RemoveFirst();
            next.Node = null;
            waiters--;
            if (queue.Count > 0)
            {
                turns.AddLast(batch);
            }
            else
            {
                waiting.Remove(batch);
            }

            TakeLocked();
            next.Granted.TrySetResult();
        }
    }

    private void Cancel(Waiter waiter)
    {
        lock (sync)
        {
            if (waiter.Node is null)
            {
                // Granted already: the job holds the permit and gives it back when it ends.
                return;
            }

            LinkedList<Waiter> queue = waiting[waiter.Batch];
            queue.Remove(waiter.Node);
            waiter.Node = null;
            waiters--;
            if (queue.Count == 0)
            {
                waiting.Remove(waiter.Batch);
                turns.Remove(waiter.Batch);
            }
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
                    // Rounded up, so the shares cover the whole limit (the row still never lets the leases sum past it).
                    shareCap = othersWaiting > 0 ? Math.Max(1, (max + othersWaiting) / (othersWaiting + 1)) : int.MaxValue;

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
                bool unchanged = !adapted && stored is not null && target == leased && take == 0 && wantMore == lastWant && leaseExpires - now > options.LeaseDuration * 2 / 3;
                if (unchanged || (stored is null && target == 0 && take == 0 && wantMore == 0))
                {
                    cap = Math.Min(leased, shareCap);
                    GrantLocked();
                    return NextDelayLocked(now, row);
                }

                if (target > 0 || wantMore > 0)
                {
                    others[holder] = new LimitLease(target, wantMore, now + options.LeaseDuration);
                }

                // While the smaller lease is being written no job may take a permit above it.
                shrinking = target < leased;
                if (shrinking)
                {
                    cap = Math.Min(target, shareCap);
                }

                next = row with { Leases = others, Tokens = bucket, TokensAt = row.Settings.RatePerSecond is null ? row.TokensAt : now };
                lastWant = wantMore;
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

        // Unused permits, or a wish for more in the row that no job here has any more: clear them soon.
        if (leased > inUse || lastWant > 0)
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
            failed = waiting.Values.SelectMany(q => q).ToList();
            waiting.Clear();
            turns.Clear();
            waiters = 0;
            foreach (Waiter w in failed)
            {
                w.Node = null;
            }
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

    private sealed class Waiter(string batch)
    {
        public string Batch { get; } = batch;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
