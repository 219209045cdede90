using System.Globalization;
using DurableTask.Core;
using DurableTask.Core.Command;
using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace DurableJobs.Orchestration.Tests.Orchestrators;

/// <summary>
/// Replays a recorded orchestration history the way Durable Task Core's dispatcher runs an orchestration without
/// extended sessions: episode by episode, each from the start of the history, with the events that arrived in that
/// episode as new events. Each episode's actions are compared with the ones the history recorded for it (kind,
/// sequence number, name, input, timer time, result), and Durable Task's own non-determinism check runs on the way.
/// </summary>
internal static class HistoryReplayer
{
    /// <summary>Reads a history as <c>GetOrchestrationHistoryAsync</c> of the Azure Storage backend returns it.</summary>
    public static IReadOnlyList<HistoryEvent> Parse(string json)
    {
        var serializer = JsonSerializer.Create(new JsonSerializerSettings { DateParseHandling = DateParseHandling.DateTime, DateTimeZoneHandling = DateTimeZoneHandling.Utc });
        return JArray.Parse(json).Cast<JObject>().Select(e =>
        {
            var eventType = (EventType)e.Value<int>(nameof(HistoryEvent.EventType));
            Type type = typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{eventType}Event")
                ?? throw new NotSupportedException($"No history event class for {eventType}.");
            return (HistoryEvent)e.ToObject(type, serializer)!;
        }).ToList();
    }

    /// <summary>
    /// Replays every episode of <paramref name="historyJson"/> with a fresh orchestration from
    /// <paramref name="createOrchestration"/> (as the dispatcher creates one per episode) and returns how many episodes
    /// it replayed and, per episode that differed, what the history recorded and what the replay did (none when the
    /// replay scheduled exactly what the history recorded). Later episodes are replayed even after one differs, so
    /// Durable Task's own non-determinism check (which needs a past to compare with) gets its say.
    /// </summary>
    public static (int Episodes, IReadOnlyList<string> Differences) Replay(string historyJson, Func<TaskOrchestration> createOrchestration)
    {
        int episodes = Episodes(Parse(historyJson)).Count;
        var differences = new List<string>();
        for (int episode = 0; episode < episodes; episode++)
        {
            // Fresh event objects for every episode: the executor marks events as played.
            IReadOnlyList<IReadOnlyList<HistoryEvent>> history = Episodes(Parse(historyJson));
            var state = new OrchestrationRuntimeState(history.Take(episode).SelectMany(e => e).ToList());
            foreach (HistoryEvent arrived in history[episode].Where(e => !IsDecision(e) && e.EventType != EventType.OrchestratorCompleted))
            {
                state.AddEvent(arrived);
            }

            // What the dispatcher passes for the Azure Storage backend: continue-as-new carries events over, exceptions are serialized.
            var executor = new TaskOrchestrationExecutor(state, createOrchestration(), BehaviorOnContinueAsNew.Carryover, ErrorPropagationMode.SerializeExceptions);
            OrchestratorExecutionResult result = executor.Execute();

            // By sequence number: the executor keeps its actions in a dictionary, whose order is not the order they were made in.
            string[] recorded = [.. history[episode].Where(IsDecision).OrderBy(e => e.EventId).Select(Describe)];
            string[] replayed = [.. result.Actions.OrderBy(a => a.Id).Select(Describe)];
            if (!recorded.SequenceEqual(replayed))
            {
                differences.Add(string.Create(CultureInfo.InvariantCulture,
                    $"episode {episode} (at {history[episode][0].Timestamp:O}):\n  recorded: {string.Join("\n            ", recorded)}\n  replayed: {string.Join("\n            ", replayed)}"));
            }
        }

        return (episodes, differences);
    }

    /// <summary>
    /// The history cut at each OrchestratorCompleted: one list of events per episode. Two shapes Durable Task writes
    /// are folded in: an execution started by continue-as-new begins <c>OrchestratorStarted, ExecutionStarted,
    /// OrchestratorCompleted</c> with its first decisions after that (the dispatcher runs it in the work item that
    /// continued as new), so a cut that does not begin with OrchestratorStarted belongs to the episode before it; and
    /// an execution that continued as new ends with its ContinueAsNew event (captured from the dispatcher, which adds no
    /// OrchestratorCompleted after it).
    /// </summary>
    private static List<IReadOnlyList<HistoryEvent>> Episodes(IReadOnlyList<HistoryEvent> events)
    {
        var episodes = new List<IReadOnlyList<HistoryEvent>>();
        var current = new List<HistoryEvent>();
        foreach (HistoryEvent e in events)
        {
            current.Add(e);
            if (e.EventType == EventType.OrchestratorCompleted)
            {
                if (episodes.Count > 0 && current[0].EventType != EventType.OrchestratorStarted)
                {
                    episodes[^1] = [.. episodes[^1], .. current];
                }
                else
                {
                    episodes.Add(current);
                }

                current = [];
            }
        }

        if (current.Count > 0 && current[^1].EventType == EventType.ContinueAsNew)
        {
            episodes.Add(current);
        }
        else if (current.Count > 0)
        {
            throw new InvalidDataException($"The history ends inside an episode ({current.Count} events after the last OrchestratorCompleted).");
        }

        return episodes;
    }

    /// <summary>Events the orchestrator itself wrote (its actions), as opposed to what arrived for it.</summary>
    private static bool IsDecision(HistoryEvent e) => e.EventType is EventType.TaskScheduled or EventType.TimerCreated
        or EventType.SubOrchestrationInstanceCreated or EventType.EventSent or EventType.ExecutionCompleted or EventType.ContinueAsNew;

    private static string Describe(HistoryEvent e) => e switch
    {
        TaskScheduledEvent t => $"#{t.EventId} call {t.Name} {t.Input}",
        TimerCreatedEvent t => $"#{t.EventId} timer {t.FireAt:O}",
        SubOrchestrationInstanceCreatedEvent s => $"#{s.EventId} sub-orchestration {s.Name} {s.InstanceId} {s.Input}",
        EventSentEvent s => $"#{s.EventId} send {s.Name} to {s.InstanceId} {s.Input}",
        ExecutionCompletedEvent c => $"#{c.EventId} complete {c.OrchestrationStatus} {c.Result}",
        _ => $"#{e.EventId} {e.EventType}",
    };

    private static string Describe(OrchestratorAction a) => a switch
    {
        ScheduleTaskOrchestratorAction t => $"#{t.Id} call {t.Name} {t.Input}",
        CreateTimerOrchestratorAction t => $"#{t.Id} timer {t.FireAt:O}",
        CreateSubOrchestrationAction s => $"#{s.Id} sub-orchestration {s.Name} {s.InstanceId} {s.Input}",
        SendEventOrchestratorAction s => $"#{s.Id} send {s.EventName} to {s.Instance?.InstanceId} {s.EventData}",
        OrchestrationCompleteOrchestratorAction c => $"#{c.Id} complete {c.OrchestrationStatus} {c.Result ?? c.FailureDetails?.ToString()}",
        _ => $"#{a.Id} {a.OrchestratorActionType}",
    };
}
