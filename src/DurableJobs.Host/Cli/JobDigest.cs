using DurableJobs.Core.Model;

namespace DurableJobs.Host.Cli;

/// <summary>
/// What the summary needs from a batch's results, gathered a page at a time so a 100,000-job batch is never held
/// in memory: the in-flight peak (from start and finish times only), the slowest jobs and the first failures.
/// </summary>
internal sealed class JobDigest
{
    private const int Slowest = 5;
    private const int Unsuccessful = 10;

    private readonly List<JobResult> timings = [];
    private readonly List<JobResult> slowest = [];
    private readonly List<JobResult> unsuccessful = [];

    public int UnsuccessfulCount { get; private set; }

    public IReadOnlyList<JobResult> SlowestJobs => slowest;

    public IReadOnlyList<JobResult> FirstUnsuccessful => unsuccessful;

    public int PeakInFlight => JobTimeline.MaxInFlight(timings);

    public void Add(JobResult job)
    {
        if (job.StartedAt is { } start && job.FinishedAt is { } end)
        {
            // Keep only what the timeline needs: no output, no error text.
            timings.Add(new JobResult { Id = string.Empty, Type = string.Empty, Status = job.Status, StartedAt = start, FinishedAt = end });
            if (slowest.Count < Slowest || Duration(job) > Duration(slowest[^1]))
            {
                slowest.Add(job with { Output = null });
                slowest.Sort((a, b) => Duration(b).CompareTo(Duration(a)));
                if (slowest.Count > Slowest)
                {
                    slowest.RemoveAt(slowest.Count - 1);
                }
            }
        }

        if (job.Status != JobStatus.Succeeded)
        {
            UnsuccessfulCount++;
            if (unsuccessful.Count < Unsuccessful)
            {
                unsuccessful.Add(job with { Output = null });
            }
        }
    }

    public static TimeSpan Duration(JobResult job) => job.FinishedAt!.Value - job.StartedAt!.Value;
}
