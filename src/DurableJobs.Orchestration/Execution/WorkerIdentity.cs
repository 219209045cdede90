namespace DurableJobs.Orchestration.Execution;

/// <summary>Names the process that runs a job, as recorded in each job result.</summary>
internal sealed class WorkerIdentity
{
    /// <summary>Creates an identity with an explicit name.</summary>
    public WorkerIdentity(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>This process: machine name and process id.</summary>
    public static WorkerIdentity CurrentProcess { get; } = new($"{Environment.MachineName}:{Environment.ProcessId}");

    /// <summary>The name.</summary>
    public string Name { get; }
}
