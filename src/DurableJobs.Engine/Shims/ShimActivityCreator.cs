using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;

namespace DurableJobs.Engine.Shims;

/// <summary>Hands Durable Task Core an SDK activity shim, wrapped so a stopping host abandons its work item instead of failing it.</summary>
internal sealed class ShimActivityCreator : ObjectCreator<TaskActivity>
{
    private readonly TaskName name;
    private readonly Func<IServiceProvider, ITaskActivity> factory;
    private readonly DurableTaskShimFactory shims;
    private readonly IServiceProvider services;

    public ShimActivityCreator(TaskName name, Func<IServiceProvider, ITaskActivity> factory, DurableTaskShimFactory shims, IServiceProvider services)
    {
        this.name = name;
        this.factory = factory;
        this.shims = shims;
        this.services = services;
        Name = name.Name;
        Version = string.Empty;
    }

    public override TaskActivity Create() => new AbandonOnShutdownActivity(shims.CreateActivity(name, factory(services)));
}
