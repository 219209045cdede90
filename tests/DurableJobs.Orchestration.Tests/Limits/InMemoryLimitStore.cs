using DurableJobs.Orchestration.Limits;

namespace DurableJobs.Orchestration.Tests.Limits;

/// <summary>The limit rows in memory, with the table's compare-and-swap: a write wins only on the row's current ETag.</summary>
internal sealed class InMemoryLimitStore : ILimitStore
{
    private readonly Dictionary<string, LimitRow> rows = new(StringComparer.Ordinal);
    private long version;

    /// <summary>Holders whose calls fail, as a dead or cut-off worker's would.</summary>
    public HashSet<string> Unreachable { get; } = [];

    /// <summary>Every successful write, for the cost of a limit.</summary>
    public int Writes { get; private set; }

    public Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        lock (rows)
        {
            return Task.FromResult(rows.GetValueOrDefault(name));
        }
    }

    public Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken)
    {
        lock (rows)
        {
            rows.TryGetValue(row.Name, out LimitRow? current);
            if (current?.ETag != row.ETag)
            {
                return Task.FromResult<LimitRow?>(null);
            }

            LimitRow stored = row with { ETag = (++version).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            rows[row.Name] = stored;
            Writes++;
            return Task.FromResult<LimitRow?>(stored);
        }
    }

    public Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken)
    {
        lock (rows)
        {
            return Task.FromResult<IReadOnlyList<LimitRow>>(rows.Values.ToList());
        }
    }

    /// <summary>A view of this store for one holder, failing while it is <see cref="Unreachable"/>.</summary>
    public ILimitStore For(string holder) => new HolderView(this, holder);

    private sealed class HolderView(InMemoryLimitStore store, string holder) : ILimitStore
    {
        public Task<LimitRow?> ReadAsync(string name, CancellationToken cancellationToken) => Check() ?? store.ReadAsync(name, cancellationToken);

        public Task<LimitRow?> TryWriteAsync(LimitRow row, CancellationToken cancellationToken) => Check() ?? store.TryWriteAsync(row, cancellationToken);

        public Task<IReadOnlyList<LimitRow>> ListAsync(CancellationToken cancellationToken) => store.ListAsync(cancellationToken);

        private Task<LimitRow?>? Check() => store.Unreachable.Contains(holder) ? Task.FromException<LimitRow?>(new IOException($"{holder} is cut off")) : null;
    }
}
