namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>A chunk the orchestrator scheduled: its jobs, its lane and the slots of the cap it holds while running.</summary>
internal sealed record ChunkPlan(int Start, int Count, int Lane, int Parallelism)
{
    /// <summary>Jobs of this chunk that can be running at once.</summary>
    public int Running => Math.Min(Count, Parallelism);
}
