using System.Text.RegularExpressions;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// Job executions counted from the workers' logs: the job runner writes "Job {batch}/{job} attempt {n} started on
/// {worker}" at Debug before each handler call. A handler cannot be injected into a separate process, and a
/// production handler that reports to the test would be a test hook in production, so the logs are the honest
/// witness. One caveat: a process killed with SIGKILL loses the lines still in its logger's queue (a few
/// milliseconds' worth), so counts for a killed worker are a lower bound.
/// </summary>
public static partial class Executions
{
    /// <summary>Starts per job id of <paramref name="batchId"/> across <paramref name="processes"/>.</summary>
    public static Dictionary<string, List<string>> StartsByJob(string batchId, IEnumerable<HostProcess> processes)
    {
        var starts = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (HostProcess process in processes)
        {
            foreach (string line in process.LinesContaining($"Job {batchId}/"))
            {
                Match match = StartedLine().Match(line);
                if (match.Success && match.Groups["batch"].Value == batchId)
                {
                    string job = match.Groups["job"].Value;
                    if (!starts.TryGetValue(job, out List<string>? workers))
                    {
                        starts[job] = workers = [];
                    }

                    workers.Add(process.Name);
                }
            }
        }

        return starts;
    }

    /// <summary>Executions beyond the first, summed over jobs.</summary>
    public static int Duplicates(Dictionary<string, List<string>> starts) => starts.Values.Sum(w => w.Count - 1);

    /// <summary>Jobs of <paramref name="batchId"/> a process started but has not yet finished (from its log).</summary>
    public static int InFlight(string batchId, HostProcess process) =>
        process.LinesContaining($"Job {batchId}/").Count(l => StartedLine().IsMatch(l))
        - process.LinesContaining($"Job {batchId}/").Count(l => l.Contains(" succeeded", StringComparison.Ordinal) || l.Contains(" failed", StringComparison.Ordinal));

    [GeneratedRegex(@"Job (?<batch>[^/\s]+)/(?<job>\S+) attempt (?<attempt>\d+) started on ")]
    private static partial Regex StartedLine();
}
