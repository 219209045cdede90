using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace DurableJobs.Engine.Shims;

/// <summary>Hands Durable Task Core a fresh SDK orchestrator shim for every execution (the shim keeps per-execution state).</summary>
internal sealed class ShimOrchestrationCreator : ObjectCreator<TaskOrchestration>
{
    private readonly TaskName name;
    private readonly Func<IServiceProvider, ITaskOrchestrator> factory;
    private readonly DurableTaskShimFactory shims;
    private readonly IServiceProvider services;

    public ShimOrchestrationCreator(TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory, DurableTaskShimFactory shims, IServiceProvider services)
    {
        this.name = name;
        this.factory = factory;
        this.shims = shims;
        this.services = services;
        Name = name.Name;
        Version = string.Empty;
    }

    public override TaskOrchestration Create() => shims.CreateOrchestration(name, factory(services), parent: null);
}
