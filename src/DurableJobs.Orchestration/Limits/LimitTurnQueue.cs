namespace DurableJobs.Orchestration.Limits;

/// <summary>
/// The jobs waiting for a named limit in one process, and whose turn is next. Tenants take turns weighted by the
/// highest priority among their waiting batches (a tenant with nine batches waiting gets the turns of a tenant with
/// one; a batch without a tenant is its own), and within a tenant its batches take turns weighted by their priority.
/// Both levels are a smooth weighted round-robin: over a round each member gets as many grants as its weight,
/// spread out rather than in a burst, so equal weights alternate one grant each (the round-robin by batch) and the
/// lowest weight still gets one grant every round: nothing waits behind a heavier member for longer than a round.
/// Not thread-safe: the gate calls it under its lock.
/// </summary>
internal sealed class LimitTurnQueue<T>
{
    private readonly List<Tenant> tenants = [];
    private readonly Dictionary<string, Tenant> tenantsByKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Batch> batchesById = new(StringComparer.Ordinal);

    /// <summary>Items waiting.</summary>
    public int Count { get; private set; }

    /// <summary>Batches with an item waiting.</summary>
    public int Batches => batchesById.Count;

    /// <summary>The sum of the waiting tenants' weights: what this process's waiting is worth against other processes'.</summary>
    public int Weight
    {
        get
        {
            int sum = 0;
            foreach (Tenant t in tenants)
            {
                sum += t.Weight;
            }

            return sum;
        }
    }

    /// <summary>Queues <paramref name="item"/> for <paramref name="claim"/>'s batch; the entry removes it again.</summary>
    public Entry Enqueue(LimitClaim claim, T item)
    {
        if (!batchesById.TryGetValue(claim.BatchId, out Batch? batch))
        {
            string key = claim.TenantKey;
            if (!tenantsByKey.TryGetValue(key, out Tenant? tenant))
            {
                tenant = new Tenant();
                tenantsByKey[key] = tenant;
                tenants.Add(tenant);
            }

            batch = new Batch(claim.BatchId, key, tenant);
            batchesById[claim.BatchId] = batch;
            tenant.Batches.Add(batch);
        }

        batch.Weight = claim.Weight;
        var entry = new Entry(item, batch);
        entry.Node = batch.Items.AddLast(entry);
        Count++;
        return entry;
    }

    /// <summary>Takes the item whose turn it is; the queue must not be empty.</summary>
    public T Dequeue()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("No item is waiting.");
        }

        Tenant tenant = Pick(tenants, t => t.Weight);
        Batch batch = Pick(tenant.Batches, b => b.Weight);
        Entry entry = batch.Items.First!.Value;
        Remove(entry);
        return entry.Item;
    }

    /// <summary>Removes <paramref name="entry"/> if it still waits; false when it was taken already.</summary>
    public bool Remove(Entry entry)
    {
        if (entry.Node is null)
        {
            return false;
        }

        Batch batch = entry.Batch;
        batch.Items.Remove(entry.Node);
        entry.Node = null;
        Count--;
        if (batch.Items.Count == 0)
        {
            batchesById.Remove(batch.Id);
            Leave(batch.Tenant.Batches, batch);
            if (batch.Tenant.Batches.Count == 0)
            {
                tenantsByKey.Remove(batch.TenantKey);
                Leave(tenants, batch.Tenant);
            }
        }

        return true;
    }

    /// <summary>Takes every waiting item out.</summary>
    public List<T> Clear()
    {
        var all = new List<T>(Count);
        foreach (Tenant t in tenants)
        {
            foreach (Batch b in t.Batches)
            {
                foreach (Entry e in b.Items)
                {
                    e.Node = null;
                    all.Add(e.Item);
                }
            }
        }

        tenants.Clear();
        tenantsByKey.Clear();
        batchesById.Clear();
        Count = 0;
        return all;
    }

    /// <summary>
    /// One step of the smooth weighted round-robin: every member earns its weight, the richest (the earliest on a tie)
    /// is served and pays the total. The credits sum to zero, so a newcomer (at zero) starts level with the average.
    /// </summary>
    private static TMember Pick<TMember>(List<TMember> members, Func<TMember, int> weight)
        where TMember : Member
    {
        TMember? best = null;
        int total = 0;
        foreach (TMember m in members)
        {
            int w = weight(m);
            total += w;
            m.Credit += w;
            if (best is null || m.Credit > best.Credit)
            {
                best = m;
            }
        }

        best!.Credit -= total;
        return best;
    }

    /// <summary>Removes <paramref name="member"/>, handing its credit (or debt) to the rest so the credits still sum to zero.</summary>
    private static void Leave<TMember>(List<TMember> members, TMember member)
        where TMember : Member
    {
        members.Remove(member);
        if (members.Count > 0 && member.Credit != 0)
        {
            long share = member.Credit / members.Count;
            long rest = member.Credit - (share * members.Count);
            foreach (TMember m in members)
            {
                m.Credit += share;
            }

            members[0].Credit += rest;
        }
    }

    /// <summary>A waiting item; <see cref="Remove"/> takes it out.</summary>
    public sealed class Entry(T item, Batch batch)
    {
        public T Item { get; } = item;

        internal Batch Batch { get; } = batch;

        internal LinkedListNode<Entry>? Node { get; set; }
    }

    internal abstract class Member
    {
        public long Credit { get; set; }
    }

    internal sealed class Batch(string id, string tenantKey, Tenant tenant) : Member
    {
        public string Id { get; } = id;

        public string TenantKey { get; } = tenantKey;

        public Tenant Tenant { get; } = tenant;

        public int Weight { get; set; }

        public LinkedList<Entry> Items { get; } = new();
    }

    internal sealed class Tenant : Member
    {
        public List<Batch> Batches { get; } = [];

        /// <summary>The highest priority among its waiting batches: splitting work into more batches earns no more turns.</summary>
        public int Weight
        {
            get
            {
                int max = 0;
                foreach (Batch b in Batches)
                {
                    max = Math.Max(max, b.Weight);
                }

                return max;
            }
        }
    }
}
