using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Azure.Core.Diagnostics;

namespace DurableJobs.Api.Tests;

/// <summary>
/// Every storage request the test process makes while this is alive (the hosts run in process), from the Azure
/// SDK's own event source: how much storage work an API call costs.
/// </summary>
public sealed class StorageTraffic : IDisposable
{
    private readonly ConcurrentQueue<StorageRequest> requests = new();
    private readonly AzureEventSourceListener listener;

    public StorageTraffic()
    {
        listener = new AzureEventSourceListener(
            (e, _) =>
            {
                if (e.EventSource.Name == "Azure-Core" && e.EventName == "Request" && e.PayloadNames is { } names && e.Payload is { } payload)
                {
                    string? method = payload[names.IndexOf("method")] as string;
                    string? uri = payload[names.IndexOf("uri")] as string;
                    if (method is not null && uri is not null)
                    {
                        requests.Enqueue(new StorageRequest(method, new Uri(uri)));
                    }
                }
            },
            EventLevel.Informational);
    }

    public IReadOnlyList<StorageRequest> Requests => requests.ToArray();

    public void Clear() => requests.Clear();

    /// <summary>The requests whose path (table or container, then the rest) contains <paramref name="fragment"/>, ignoring case.</summary>
    public StorageRequest[] To(string fragment) =>
        requests.Where(r => r.PathContains(fragment)).ToArray();

    /// <summary>
    /// The requests to <paramref name="hub"/>'s tables, queues and containers that a call of ours made, leaving out
    /// Durable Task's own machinery, which runs on its own clock in the same process whatever the test does: the
    /// partition manager's lease rounds on <c>{hub}Partitions</c> (every few seconds), the control and work-item queues'
    /// polls and the lease blobs. (A CI run counted one lease round in a timeline request that read nothing itself.)
    /// </summary>
    public StorageRequest[] OfHubExceptDurableTask(string hub)
    {
        string[] durableTask = [$"/{hub}Partitions", $"/{hub}-control-", $"/{hub}-workitems", $"/{hub}-leases", $"/{hub}-applease"];
        return To(hub).Where(r => !durableTask.Any(r.PathContains)).ToArray();
    }

    public void Dispose() => listener.Dispose();
}

/// <summary>One request to storage.</summary>
public sealed record StorageRequest(string Method, Uri Uri)
{
    /// <summary>A table query without a filter: it reads the whole table. (The SDK may redact a filter's value, never its presence.)</summary>
    public bool IsTableScan => Method == "GET" && Uri.AbsolutePath.EndsWith("()", StringComparison.Ordinal) && !Uri.Query.Contains("$filter=", StringComparison.Ordinal);

    /// <summary>Whether the request's path (table or container, then the rest) contains <paramref name="fragment"/>, ignoring case.</summary>
    public bool PathContains(string fragment) => Uri.UnescapeDataString(Uri.AbsolutePath).Contains(fragment, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Method} {Uri.PathAndQuery}";
}
