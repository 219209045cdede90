using DurableTask.Core;

namespace DurableJobs.Engine.Hosting;

/// <summary>
/// Changes the engine's <see cref="TaskHubWorker"/>, when registered in the container: the history recorder
/// (<c>tools/RecordHistories</c>) adds a dispatcher middleware before the worker starts and turns on
/// <c>TaskOrchestrationDispatcher.IncludeParameters</c> once it has (the dispatchers exist only then). No host
/// registers one; production workers run as Durable Task defaults them.
/// </summary>
internal sealed class WorkerConfiguration
{
    /// <summary>Runs on the worker before it starts (its dispatchers do not exist yet).</summary>
    public Action<TaskHubWorker>? BeforeStart { get; init; }

    /// <summary>Runs on the worker right after it started.</summary>
    public Action<TaskHubWorker>? AfterStart { get; init; }
}
