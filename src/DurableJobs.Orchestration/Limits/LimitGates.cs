using System.Collections.Concurrent;
using DurableJobs.Core.Limits;
using System.Diagnostics;
using DurableJobs.Orchestration.Execution;
using DurableJobs.Orchestration.Telemetry;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Limits;

/// <summary>
/// The named limits of one worker process: a <see cref="LimitGate"/> per limit, made on first use. A job takes every
/// limit it needs in name order (so two jobs never wait on each other's limits) and gives them back when its
/// handler returns. Disposing hands every lease back (host shutdown releases permits at once).
/// </summary>
internal sealed partial class LimitGates(ILimitStore store, LimitCatalog catalog, WorkerIdentity worker, TimeProvider time, ILoggerFactory loggers, LimitGateOptions? options = null) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<LimitGate>> gates = new(StringComparer.Ordinal);
    private readonly LimitGateOptions options = options ?? new LimitGateOptions();
    private readonly ILogger logger = loggers.CreateLogger<LimitGate>();

    /// <summary>The gates made so far, by limit.</summary>
    public IEnumerable<KeyValuePair<string, LimitGate>> Gates => gates.Select(p => KeyValuePair.Create(p.Key, p.Value.Value));

    /// <summary>Takes every limit of <paramref name="names"/> (sorted) for a job of <paramref name="claim"/>'s batch, in its turn.</summary>
    public async ValueTask<LimitPermits> AcquireAsync(IReadOnlyList<string> names, LimitClaim claim, CancellationToken cancellationToken)
    {
        var held = new List<LimitGate>(names.Count);
        long waitStarted = Stopwatch.GetTimestamp();
        try
        {
            foreach (string name in names)
            {
                LimitGate gate = Gate(name);
                await gate.AcquireAsync(claim, cancellationToken).ConfigureAwait(false);
                held.Add(gate);
            }
        }
        catch
        {
            foreach (LimitGate gate in held)
            {
                gate.Release();
            }

            throw;
        }

        DurableJobsTelemetry.LimitWait.Record(Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
        return new LimitPermits(held, time.GetUtcNow());
    }

    /// <summary>The gate of <paramref name="name"/>.</summary>
    public LimitGate Gate(string name) => gates.GetOrAdd(name, n => new Lazy<LimitGate>(() =>
    {
        catalog.Declared.TryGetValue(n, out LimitSettings? declared);
        return new LimitGate(n, worker.Name, store, declared, options, time, logger);
    })).Value;

    public async ValueTask DisposeAsync()
    {
        List<(string Name, LimitGate Gate)> made = [.. gates.Where(g => g.Value.IsValueCreated).Select(g => (g.Key, g.Value.Value))];
        await Task.WhenAll(made.Select(g => g.Gate.DisposeAsync().AsTask())).ConfigureAwait(false);

        // The limit's storage cost in this process over its life: how the benchmark tells row operations per job.
        foreach ((string name, LimitGate gate) in made)
        {
            (long reads, long writes, long conflicts) = gate.Operations;
            LogOperations(logger, name, reads, writes, conflicts);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Limit {Limit}: {Reads} row reads, {Writes} row writes, {Conflicts} lost compare-and-swaps in this process")]
    private static partial void LogOperations(ILogger logger, string limit, long reads, long writes, long conflicts);
}

/// <summary>The permits one job holds; disposing gives them back.</summary>
internal sealed class LimitPermits(List<LimitGate> held, DateTimeOffset grantedAt) : IDisposable
{
    private List<LimitGate>? held = held;

    /// <summary>
    /// The attempt was throttled by its downstream: gives the permits back, then has every limit it held cut its effective
    /// concurrency (in that order, so the round the report wakes already sees the permits idle).
    /// </summary>
    public void Throttled()
    {
        List<LimitGate>? gates = Interlocked.Exchange(ref held, null);
        if (gates is null)
        {
            return;
        }

        Release(gates);
        foreach (LimitGate gate in gates)
        {
            gate.Throttled(grantedAt);
        }
    }

    /// <summary>The attempt succeeded: a clean completion for every limit it holds.</summary>
    public void Succeeded()
    {
        foreach (LimitGate gate in Volatile.Read(ref held) ?? [])
        {
            gate.Succeeded();
        }
    }

    public void Dispose()
    {
        List<LimitGate>? gates = Interlocked.Exchange(ref held, null);
        if (gates is not null)
        {
            Release(gates);
        }
    }

    private static void Release(List<LimitGate> gates)
    {
        for (int i = gates.Count - 1; i >= 0; i--)
        {
            gates[i].Release();
        }
    }
}
