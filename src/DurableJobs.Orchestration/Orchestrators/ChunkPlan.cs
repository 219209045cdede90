namespace DurableJobs.Orchestration.Orchestrators;

/// <summary>
/// A chunk the orchestrator scheduled: its jobs, its lane, the lane's slots (the most of the lane's jobs running at
/// once, whichever of its chunks they belong to) and its place in the lane (0, 1, 2, …: a chunk's jobs start only
/// as the chunk before it in the lane frees slots), and whether every chunk before it in the lane had finished when it
/// was granted (then it starts at once, wherever it lands).
/// </summary>
internal sealed record ChunkPlan(int Start, int Count, int Lane, int Parallelism, int Sequence = 0, bool Ready = false);
