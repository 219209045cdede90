using System.Collections.Concurrent;
using System.Text.Json;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// <c>probe</c>: waits <c>{"ms": N}</c> on its token like <c>delay</c>, and records what it lived through,
/// so tests can assert that cancellation reached the running handler.
/// </summary>
public sealed class ProbeJobHandler : IJobHandler
{
    private readonly ConcurrentDictionary<string, ProbeRecord> records = new(StringComparer.Ordinal);

    public IReadOnlyCollection<ProbeRecord> For(string batchId) =>
        records.Values.Where(r => r.BatchId == batchId).ToList();

    public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        var record = new ProbeRecord(context.BatchId, context.JobId, context.Attempt, DateTimeOffset.UtcNow);
        records[$"{context.BatchId}/{context.JobId}/{context.Attempt}/{Guid.NewGuid():N}"] = record;
        int ms = payload.TryGetProperty("ms", out JsonElement value) ? value.GetInt32() : 0;
        try
        {
            await Task.Delay(ms, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            record.CancelledAt = DateTimeOffset.UtcNow;
            throw;
        }
        finally
        {
            record.EndedAt = DateTimeOffset.UtcNow;
        }

        return null;
    }
}

public sealed class ProbeRecord(string batchId, string jobId, int attempt, DateTimeOffset startedAt)
{
    public string BatchId { get; } = batchId;

    public string JobId { get; } = jobId;

    public int Attempt { get; } = attempt;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public DateTimeOffset? CancelledAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }
}
