namespace DurableJobs.Orchestration.Schedules;

/// <summary>The names under which the schedule orchestrator, its activities and its event are registered, shared by every host.</summary>
internal static class ScheduleNames
{
    /// <summary>The eternal orchestrator of one schedule.</summary>
    public const string Orchestrator = "ScheduleOrchestrator";

    /// <summary>The activity that starts an occurrence's batch (a <see cref="ScheduledBatchStart"/>).</summary>
    public const string StartBatchActivity = "StartScheduledBatch";

    /// <summary>The activity that says which of a schedule's batches still run.</summary>
    public const string RunningBatchesActivity = "FindRunningBatches";

    /// <summary>The external event carrying a <see cref="ScheduleCommand"/>.</summary>
    public const string CommandEvent = "ScheduleCommand";

    /// <summary>The orchestration instance id of schedule <paramref name="name"/>; ':' is not a batch id character, so none collides.</summary>
    public static string InstanceIdOf(string name) => InstancePrefix + name;

    /// <summary>What every schedule's instance id starts with.</summary>
    public const string InstancePrefix = "schedule:";
}
