namespace DurableJobs.Orchestration.Hooks;

/// <summary>The names under which the completion-hook orchestrator and its activity are registered, shared by every host.</summary>
internal static class HookNames
{
    /// <summary>The orchestrator that delivers one batch's hooks (<see cref="BatchHookOrchestrator"/>).</summary>
    public const string Orchestrator = "BatchHookOrchestrator";

    /// <summary>The activity that makes one delivery attempt of one hook step (a <see cref="HookStep"/>).</summary>
    public const string DeliverActivity = "DeliverBatchHook";

    /// <summary>The instance id of batch <paramref name="batchId"/>'s hooks; ':' is not a batch id character, so none collides.</summary>
    public static string InstanceIdOf(string batchId) => batchId + InstanceSuffix;

    /// <summary>What every hook instance id ends with.</summary>
    public const string InstanceSuffix = ":hook";
}
