using DurableTask.Core;
using DurableTask.Core.History;
using Newtonsoft.Json.Linq;

namespace DurableJobs.Tools.RecordHistories;

/// <summary>One execution of one orchestration instance: its history as Durable Task serializes it (Newtonsoft, event classes' properties).</summary>
internal sealed record RecordedInstance(string InstanceId, string ExecutionId, JArray History)
{
    /// <summary>How the execution ended: the status of its ExecutionCompleted event, ContinuedAsNew, or "running".</summary>
    public string Outcome => Events.LastOrDefault(e => Is(e, EventType.ExecutionCompleted) || Is(e, EventType.ContinueAsNew)) is { } end
        ? Is(end, EventType.ContinueAsNew) ? "ContinuedAsNew" : ((OrchestrationStatus)end.Value<int>("OrchestrationStatus")).ToString()
        : "running";

    /// <summary>How many episodes (OrchestratorCompleted events, or a final ContinueAsNew) the history holds.</summary>
    public int Episodes => Events.Count(e => Is(e, EventType.OrchestratorCompleted)) + (Is(Events.Last(), EventType.ContinueAsNew) ? 1 : 0);

    private IEnumerable<JObject> Events => History.Children<JObject>();

    private static bool Is(JObject e, EventType type) => e.Value<int>(nameof(HistoryEvent.EventType)) == (int)type;
}
