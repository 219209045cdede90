using DurableJobs.Orchestration.Model;

namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>A chunk the orchestrator schedules: its jobs and the slots of the cap it holds while running.</summary>
internal sealed record ChunkPlan(IReadOnlyList<ScheduledJob> Jobs, int Parallelism);
