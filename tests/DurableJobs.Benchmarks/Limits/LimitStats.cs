using DurableJobs.Benchmarks.Utilisation;
using DurableJobs.Core.Model;

namespace DurableJobs.Benchmarks.Limits;

/// <summary>
/// How a run used a concurrency limit, from the jobs' own start and finish times only (a job's times are stamped
/// while it holds its permit, so the overlap of the times is the limit in use, exactly).
/// </summary>
/// <param name="Jobs">Jobs that ran.</param>
/// <param name="Peak">The most jobs holding the limit at one instant, across every worker process.</param>
/// <param name="Utilisation">Mean in use ÷ the limit between the first start and the last finish.</param>
/// <param name="Span">The first start to the last finish.</param>
/// <param name="Batches">Per batch: its share of the limit-time while every batch still ran, and when it finished.</param>
/// <param name="Workers">Per worker process: its jobs and its share of the limit-time.</param>
internal sealed record LimitStats(int Jobs, int Peak, double Utilisation, TimeSpan Span, IReadOnlyList<BatchShare> Batches, IReadOnlyList<WorkerShare> Workers)
{
    public static LimitStats From(IReadOnlyList<LimitJob> jobs, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (jobs.Count == 0)
        {
            throw new ArgumentException("No jobs ran.", nameof(jobs));
        }

        DateTimeOffset first = jobs.Min(j => j.StartedAt);
        DateTimeOffset last = jobs.Max(j => j.FinishedAt);
        int peak = JobTimeline.InFlightOverTime(jobs.Select(j => new JobSpan(j.StartedAt, j.FinishedAt))).Select(p => p.InFlight).DefaultIfEmpty(0).Max();
        double busy = jobs.Sum(j => (j.FinishedAt - j.StartedAt).TotalSeconds);
        double span = (last - first).TotalSeconds;
        double utilisation = span > 0 ? busy / (limit * span) : 0;

        // Fairness is measured while every batch still had jobs: once one is done, the others share its turns.
        DateTimeOffset contended = jobs.GroupBy(j => j.Batch).Min(g => g.Max(j => j.FinishedAt));
        double Clipped(LimitJob j) => Math.Max(0, ((j.FinishedAt < contended ? j.FinishedAt : contended) - j.StartedAt).TotalSeconds);
        double contendedBusy = jobs.Sum(Clipped);
        var batches = jobs.GroupBy(j => j.Batch, StringComparer.Ordinal)
            .Select(g => new BatchShare(g.Key, g.Count(), contendedBusy > 0 ? g.Sum(Clipped) / contendedBusy : 0, g.Max(j => j.FinishedAt) - first))
            .OrderBy(b => b.Finished)
            .ToList();
        var workers = jobs.GroupBy(j => j.Worker, StringComparer.Ordinal)
            .Select(g => new WorkerShare(g.Key, g.Count(), busy > 0 ? g.Sum(j => (j.FinishedAt - j.StartedAt).TotalSeconds) / busy : 0))
            .OrderByDescending(w => w.Jobs)
            .ToList();
        return new LimitStats(jobs.Count, peak, utilisation, last - first, batches, workers);
    }

    /// <summary>
    /// Splits the limit-time between the first start and the last finish by what the row said at each reading: in use
    /// (from the jobs' times at the reading), leased but idle, free while some worker asked for more, free and unasked.
    /// Null without readings in that span.
    /// </summary>
    public static LeaseShares? LeaseShares(IReadOnlyList<LimitJob> jobs, IReadOnlyList<LimitRowSample> samples, int limit)
    {
        if (jobs.Count == 0)
        {
            return null;
        }

        DateTimeOffset first = jobs.Min(j => j.StartedAt);
        DateTimeOffset last = jobs.Max(j => j.FinishedAt);
        var inSpan = samples.Where(s => s.At >= first && s.At <= last).ToList();
        if (inSpan.Count == 0)
        {
            return null;
        }

        double inUse = 0, leasedIdle = 0, freeWanted = 0, freeUnwanted = 0;
        foreach (LimitRowSample sample in inSpan)
        {
            int running = jobs.Count(j => j.StartedAt <= sample.At && j.FinishedAt > sample.At);
            int leased = Math.Max(sample.Leased, running);
            inUse += running;
            leasedIdle += leased - running;
            int free = Math.Max(0, limit - leased);
            if (sample.Wanted > 0)
            {
                freeWanted += free;
            }
            else
            {
                freeUnwanted += free;
            }
        }

        double total = (double)inSpan.Count * limit;
        return new LeaseShares(inSpan.Count, inUse / total, leasedIdle / total, freeWanted / total, freeUnwanted / total, inSpan.Average(s => s.WaitingWorkers));
    }

    /// <summary>Mean jobs holding the limit per <paramref name="bucket"/> from the first start: where it sat idle.</summary>
    public static IReadOnlyList<double> InUseOverTime(IReadOnlyList<LimitJob> jobs, TimeSpan bucket)
    {
        var spans = jobs.Select(j => new JobSpan(j.StartedAt, j.FinishedAt)).ToList();
        DateTimeOffset first = spans.Min(s => s.StartedAt);
        DateTimeOffset last = spans.Max(s => s.FinishedAt);
        var means = new List<double>();
        for (DateTimeOffset at = first; at < last; at += bucket)
        {
            DateTimeOffset end = at + bucket < last ? at + bucket : last;
            means.Add(UtilisationStats.MeanInFlight(spans, at, end));
        }

        return means;
    }
}

/// <summary>Shares of the limit-time: in use, leased but idle, free while wanted, free and unwanted; and the mean of workers asking for more.</summary>
internal sealed record LeaseShares(int Samples, double InUse, double LeasedIdle, double FreeWhileWanted, double FreeUnwanted, double MeanWaitingWorkers);

/// <summary>A batch's share of the limit-time while every batch ran, and its finish (from the run's first start).</summary>
internal sealed record BatchShare(string Batch, int Jobs, double ContendedShare, TimeSpan Finished);

/// <summary>A worker process's jobs and share of the limit-time.</summary>
internal sealed record WorkerShare(string Worker, int Jobs, double Share);
