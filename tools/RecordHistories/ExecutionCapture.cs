using DurableTask.Core;
using DurableTask.Core.Middleware;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace DurableJobs.Tools.RecordHistories;

/// <summary>
/// Keeps, per execution of the instances whose id starts with a prefix, the runtime state the orchestration
/// dispatcher last ran it on. The dispatcher adds the episode's decisions to that same object after the middleware
/// returns, so once the instance has moved on it holds the execution's whole history.
/// </summary>
/// <remarks>
/// Needed for executions that end with continue-as-new: Durable Task runs the next execution in the same work item and
/// the Azure Storage backend writes only that one, so the history ending in the ContinueAsNew event is never stored and
/// <c>GetOrchestrationHistoryAsync</c> cannot return it. The captured history ends with that event (no
/// OrchestratorCompleted follows it, as in the dispatcher).
/// </remarks>
internal sealed class ExecutionCapture(string instancePrefix)
{
    private readonly Lock gate = new();
    private readonly List<(string InstanceId, string ExecutionId)> seen = [];
    private readonly Dictionary<string, OrchestrationRuntimeState> latest = [];

    /// <summary>The dispatcher middleware (<see cref="TaskHubWorker.AddOrchestrationDispatcherMiddleware"/>).</summary>
    public Task Middleware(DispatchMiddlewareContext context, Func<Task> next)
    {
        OrchestrationRuntimeState? state = context.GetProperty<OrchestrationRuntimeState>();
        if (state?.OrchestrationInstance is { } instance && instance.InstanceId.StartsWith(instancePrefix, StringComparison.Ordinal))
        {
            lock (gate)
            {
                if (!latest.ContainsKey(instance.ExecutionId))
                {
                    seen.Add((instance.InstanceId, instance.ExecutionId));
                }

                latest[instance.ExecutionId] = state;
            }
        }

        return next();
    }

    /// <summary>Every execution of <paramref name="instanceId"/> seen so far, oldest first. Call once the instance has completed.</summary>
    public IReadOnlyList<RecordedInstance> Executions(string instanceId)
    {
        // As the Azure Storage backend serializes a history (DurableTask.AzureStorage Utils.SerializeToJson).
        var serializer = JsonSerializer.Create();
        lock (gate)
        {
            return seen.Where(s => s.InstanceId == instanceId)
                .Select(s => new RecordedInstance(s.InstanceId, s.ExecutionId, JArray.FromObject(latest[s.ExecutionId].Events, serializer)))
                .ToList();
        }
    }
}
