using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DurableJobs.Benchmarks.Engine;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Client;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Benchmarks.Limits;

/// <summary>
/// Issue 18's benchmark: 10 batches of 50 ms jobs at cap 10 each on 3 worker processes (<c>durablejobs serve
/// --worker-only</c>) sharing a named limit of 7: the peak holding it across the cluster, its utilisation, each batch's
/// share and finish, each worker's share, the row operations per job; then the throughput cost of a limit that does not
/// bind (1,000) for no-op jobs against the same batches without one, measured in the same run, alternating.
/// </summary>
public sealed partial class LimitsScenario : IBenchmarkScenario
{
    private const string Hub = "limitbench";
    private const string Tight = "seven";
    private const string Wide = "wide";
    private const string WarmUp = "warmup";
    private const int Limit = 7;
    private const int WideLimit = 1_000;
    private const int Workers = 3;
    private const int Batches = 10;
    private const int Cap = 10;
    private static readonly TimeSpan JobLength = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public string Name => "limits";

    public string Title => "named limits: a limit of 7 shared by 10 batches on 3 worker processes (peak, utilisation, fairness, cost)";

    // Needs Node.js and the pinned Azurite, as the engine scenario does.
    public bool InAll => true;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        int jobs = context.Quick ? 50 : 500;
        int pairs = context.Quick ? 1 : 2;
        TimeSpan patience = TimeSpan.FromMinutes(context.Quick ? 3 : 10);
        JsonElement delay = JsonSerializer.SerializeToElement(new { ms = (long)JobLength.TotalMilliseconds });
        JsonElement empty = JsonSerializer.SerializeToElement(new { });

        LimitRunOutcome? limited = null;
        IReadOnlyList<LimitRowSample> rowSamples = [];
        ProcessCpu? emulatorCpu = null;
        var without = new List<LimitRunOutcome>();
        var with = new List<LimitRunOutcome>();
        var operations = new Dictionary<string, (long Reads, long Writes, long Conflicts)>(StringComparer.Ordinal);
        string data = Directory.CreateTempSubdirectory("durablejobs-bench-limits-azurite-").FullName;
        try
        {
            await using AzuriteProcess azurite = await AzuriteProcess.StartAsync(
                new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
                NullLogger.Instance,
                cancellationToken).ConfigureAwait(false);
            ProcessCpu cpu = emulatorCpu = new ProcessCpu(azurite.ProcessId);
            var workers = new List<WorkerHostProcess>();
            try
            {
                // One after another: started together on 2 cores they would each take several times as long to come up.
                for (int i = 0; i < Workers; i++)
                {
                    Report.Progress($"limits: starting worker process {i + 1} of {Workers}");
                    workers.Add(await WorkerHostProcess.StartAsync(WorkerEnvironment(azurite.ConnectionString), ReadyTimeout, cancellationToken).ConfigureAwait(false));
                }

                void Alive() => workers.ForEach(w => w.ThrowIfExited());
                using IHost clientHost = await BenchmarkEngineHost.StartAsync(azurite.ConnectionString, Hub, ClientSettings(), registry: null, cancellationToken).ConfigureAwait(false);
                try
                {
                    BatchClient client = clientHost.Services.GetRequiredService<BatchClient>();
                    Report.Progress("limits: warm-up");
                    await LimitBatches.RunAsync(client, "warm", Workers, 30, Cap, "echo", empty, WarmUp, patience, Alive, cancellationToken).ConfigureAwait(false);

                    for (int pair = 1; pair <= pairs; pair++)
                    {
                        Report.Progress($"limits: no-op batches without a limit ({pair} of {pairs})");
                        using (cpu.Measure("free"))
                        {
                            without.Add(await LimitBatches.RunAsync(client, $"free-{pair}", Batches, jobs, Cap, "echo", empty, null, patience, Alive, cancellationToken).ConfigureAwait(false));
                        }

                        Report.Progress($"limits: no-op batches with a limit of {WideLimit} ({pair} of {pairs})");
                        using (cpu.Measure("wide"))
                        {
                            with.Add(await LimitBatches.RunAsync(client, $"wide-{pair}", Batches, jobs, Cap, "echo", empty, Wide, patience, Alive, cancellationToken).ConfigureAwait(false));
                        }

                    }

                    Report.Progress($"limits: {Batches} batches × {jobs} jobs of {JobLength.TotalMilliseconds:0} ms, limit {Limit}");
                    await using (LimitRowSampler sampler = LimitRowSampler.Start(azurite.ConnectionString, Hub, Tight))
                    using (cpu.Measure("limited"))
                    {
                        limited = await LimitBatches.RunAsync(client, "limited", Batches, jobs, Cap, "delay", delay, Tight, patience, Alive, cancellationToken).ConfigureAwait(false);
                        rowSamples = await sampler.StopAsync().ConfigureAwait(false);
                    }

                    Report.Progress($"limits: in use per 500 ms: {string.Join(" ", LimitStats.InUseOverTime(limited.Jobs, TimeSpan.FromMilliseconds(500)).Select(m => m.ToString("0.0", CultureInfo.InvariantCulture)))}");
                }
                catch (TimeoutException)
                {
                    foreach (WorkerHostProcess worker in workers)
                    {
                        string[] lines = worker.Tail(200).Split(Environment.NewLine);
                        IEnumerable<string> trouble = lines.Select((l, i) => (l, i))
                            .Where(p => p.l.StartsWith("fail", StringComparison.Ordinal) || p.l.StartsWith("crit", StringComparison.Ordinal) || (p.l.StartsWith("warn", StringComparison.Ordinal) && !lines[Math.Min(p.i + 1, lines.Length - 1)].Contains("duplicate message", StringComparison.Ordinal)))
                            .SelectMany(p => lines.Skip(p.i).Take(3)).Take(60);
                        Report.Progress($"limits: worker process {worker.Process.Id}'s warnings and errors:{Environment.NewLine}{string.Join(Environment.NewLine, trouble)}");
                    }

                    throw;
                }
                finally
                {
                    await BenchmarkEngineHost.StopAsync(clientHost).ConfigureAwait(false);
                }

                // Each worker logs its gates' row operations as it stops.
                foreach (WorkerHostProcess worker in workers)
                {
                    await worker.StopGracefullyAsync(StopTimeout).ConfigureAwait(false);
                    foreach (Match m in OperationsLine().Matches(worker.Tail(200)))
                    {
                        (long r, long w, long c) = operations.GetValueOrDefault(m.Groups["limit"].Value);
                        operations[m.Groups["limit"].Value] = (r + long.Parse(m.Groups["reads"].Value, CultureInfo.InvariantCulture),
                            w + long.Parse(m.Groups["writes"].Value, CultureInfo.InvariantCulture), c + long.Parse(m.Groups["conflicts"].Value, CultureInfo.InvariantCulture));
                    }
                }
            }
            finally
            {
                foreach (WorkerHostProcess worker in workers)
                {
                    await worker.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
        finally
        {
            TryDelete(data);
        }

        Write(context, jobs, limited!, without, with, operations, rowSamples, emulatorCpu);
    }

    private static void Write(ScenarioContext context, int jobs, LimitRunOutcome limited, List<LimitRunOutcome> without, List<LimitRunOutcome> with, Dictionary<string, (long Reads, long Writes, long Conflicts)> operations, IReadOnlyList<LimitRowSample> rowSamples, ProcessCpu? emulatorCpu)
    {
        Report report = context.Report;
        LimitStats stats = LimitStats.From(limited.Jobs, Limit);
        report.Line($"{Workers} worker processes (`durablejobs serve --worker-only`, engine defaults but the leases and queue visibility of an overcommitted VM: 30 s, 60 s) on one task hub, Azurite 3.37.0 in a fresh folder; {Batches} batches " +
            $"of {Fmt.Int(jobs)} `delay` jobs of {JobLength.TotalMilliseconds:0} ms at cap {Cap} each ({Batches * Cap} slots), submitted together, their job type mapped to the named limit " +
            $"`{Tight}` of {Limit} concurrent. Every number comes from the jobs' own start and finish times, stamped while they hold the permit.");
        if (context.Quick)
        {
            report.Line("Quick run: a tenth of the jobs, so ramp-up and the last round trips weigh far more than in a full run; the numbers are rough.");
        }

        double floor = stats.Jobs * JobLength.TotalSeconds / Limit;
        var main = new MarkdownTable("Jobs", "Peak holding the limit", "Utilisation (mean in use ÷ 7)", "First start → last finish", "At 100 %", "Submit → last batch final", "Row reads / job", "Row writes / job", "Lost CAS / job");
        (long reads, long writes, long conflicts) = operations.GetValueOrDefault(Tight);
        bool counted = operations.ContainsKey(Tight);
        string PerJob(long n) => counted ? Fmt.Decimal((double)n / stats.Jobs, "0.000") : "n/a";
        main.Row(Fmt.Int(stats.Jobs), Fmt.Int(stats.Peak), Fmt.Decimal(stats.Utilisation, "0.00"), $"{Fmt.Decimal(stats.Span.TotalSeconds, "0.0")} s", $"{Fmt.Decimal(floor, "0.0")} s",
            $"{Fmt.Decimal((limited.FinalAt - limited.SubmittedAt).TotalSeconds, "0.0")} s", PerJob(reads), PerJob(writes), PerJob(conflicts));
        report.Table(main);

        if (LimitStats.LeaseShares(limited.Jobs, rowSamples, Limit) is { } leases)
        {
            report.Line($"Where the limit-time went (the row read every {LimitRowSampler.Interval.TotalMilliseconds:0} ms, {Fmt.Int(leases.Samples)} readings from the first start to the last finish, " +
                $"beside the jobs' own times): permits in use {Fmt.Decimal(100 * leases.InUse, "0.0")} %, leased to a worker but not in use {Fmt.Decimal(100 * leases.LeasedIdle, "0.0")} %, " +
                $"not leased while a worker asked for more {Fmt.Decimal(100 * leases.FreeWhileWanted, "0.0")} %, not leased and not asked for {Fmt.Decimal(100 * leases.FreeUnwanted, "0.0")} %; " +
                $"workers asking for more: {Fmt.Decimal(leases.MeanWaitingWorkers, "0.00")} on average.");
        }

        if (emulatorCpu is not null)
        {
            // Azurite is one Node.js thread: where it is near a whole core, every queue and table call of every process waits
            // on it, and the orchestration round trips between chunks grow with it.
            report.Line($"Azurite's CPU (one Node.js thread) over the runs, in cores: the limited run {Fmt.Decimal(emulatorCpu.Share("limited"), "0.00")}, " +
                $"the no-op runs without a limit {Fmt.Decimal(emulatorCpu.Share("free"), "0.00")} and with one {Fmt.Decimal(emulatorCpu.Share("wide"), "0.00")}.");
        }

        report.Line($"Fairness: each batch's share of the limit-time while all {Batches} still ran (an equal share is {Fmt.Decimal(100.0 / Batches, "0.0")} %), and its finish from the first start.");
        var fair = new MarkdownTable("Batch", "Share while all ran", "Finished after");
        foreach (BatchShare b in stats.Batches)
        {
            fair.Row(b.Batch, Fmt.Decimal(100 * b.ContendedShare, "0.0") + " %", $"{Fmt.Decimal(b.Finished.TotalSeconds, "0.0")} s");
        }

        report.Table(fair);
        var byWorker = new MarkdownTable("Worker process", "Jobs", "Share of the limit-time");
        foreach (WorkerShare w in stats.Workers)
        {
            byWorker.Row(w.Worker, Fmt.Int(w.Jobs), Fmt.Decimal(100 * w.Share, "0.0") + " %");
        }

        report.Table(byWorker);

        report.Line($"Cost for no-op jobs (`echo`): the same {Batches} batches × {Fmt.Int(jobs)} without a limit and with one of {Fmt.Int(WideLimit)} (never binds), alternating, {without.Count} of each. Jobs/s = jobs ÷ (submit → last batch final).");
        var cost = new MarkdownTable("Run", "Without a limit (jobs/s)", "With a limit of 1,000 (jobs/s)", "With ÷ without");
        for (int i = 0; i < without.Count; i++)
        {
            cost.Row(Fmt.Int(i + 1), Fmt.Int(without[i].JobsPerSecond), Fmt.Int(with[i].JobsPerSecond), Fmt.Decimal(with[i].JobsPerSecond / without[i].JobsPerSecond, "0.00"));
        }

        double freeRate = without.Sum(r => r.Jobs.Count) / without.Sum(r => (r.FinalAt - r.SubmittedAt).TotalSeconds);
        double wideRate = with.Sum(r => r.Jobs.Count) / with.Sum(r => (r.FinalAt - r.SubmittedAt).TotalSeconds);
        cost.Row("all", Fmt.Int(freeRate), Fmt.Int(wideRate), Fmt.Decimal(wideRate / freeRate, "0.00"));
        report.Table(cost);
        if (operations.GetValueOrDefault(Wide) is { } wide && operations.ContainsKey(Wide))
        {
            int wideJobs = with.Sum(r => r.Jobs.Count);
            report.Line($"Row operations with the limit of {Fmt.Int(WideLimit)}: {Fmt.Decimal((double)wide.Reads / wideJobs, "0.000")} reads, {Fmt.Decimal((double)wide.Writes / wideJobs, "0.000")} writes, " +
                $"{Fmt.Decimal((double)wide.Conflicts / wideJobs, "0.000")} lost compare-and-swaps per job.");
        }

        report.Heading(3, "Targets (issue 18; reported, not asserted)");
        double slower = 1 - (wideRate / freeRate);
        report.Line($"- **Peak never above {Limit}: {(stats.Peak <= Limit ? "met" : "missed")}** (peak {stats.Peak}).");
        report.Line($"- **Utilisation ≥ 0.90: {(stats.Utilisation >= 0.90 ? "met" : "missed")}** ({Fmt.Decimal(stats.Utilisation, "0.00")}).");
        report.Line($"- **No-op throughput with the limit at most 10 % lower: {(slower <= 0.10 ? "met" : "missed")}** ({Fmt.Decimal(100 * slower, "0.0")} % {(slower >= 0 ? "lower" : "higher")}).");
    }

    private static Dictionary<string, string> WorkerEnvironment(string connection)
    {
        Dictionary<string, string> environment = BaseWorkerEnvironment(connection);
        if (Environment.GetEnvironmentVariable("DURABLEJOBS_BENCH_WORKER_LOGS") is { Length: > 0 })
        {
            // For a look at a run afterwards: each chunk's admission and finish, timed.
            environment["Logging__LogLevel__DurableJobs.Orchestration.Execution.JobChunkExecutor"] = "Debug";
            environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
            if (Environment.GetEnvironmentVariable("DURABLEJOBS_BENCH_ENGINE_LOGS") is { Length: > 0 } engineLevel)
            {
                environment["Logging__LogLevel__DurableTask.AzureStorage"] = engineLevel;
            }
        }

        return environment;
    }

    private static Dictionary<string, string> BaseWorkerEnvironment(string connection) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["AzureWebJobsStorage"] = connection,
        ["DurableJobs__HubName"] = Hub,
        ["DurableJobs__Azurite__AutoStart"] = "false",
        [$"DurableJobs__NamedLimits__{Tight}__MaxConcurrent"] = $"{Limit}",
        [$"DurableJobs__NamedLimits__{Wide}__MaxConcurrent"] = $"{WideLimit}",
        [$"DurableJobs__NamedLimits__{WarmUp}__MaxConcurrent"] = $"{WideLimit}",
        // The README's settings for an overcommitted VM (this one runs several builds and test suites at once): with
        // the defaults, stalls of many seconds let partition leases and queue visibility lapse, and ten batches on three
        // workers then wait on redeliveries. Failover speed is not what this scenario measures.
        ["DurableJobs__LeaseInterval"] = "00:00:30",
        ["DurableJobs__LeaseRenewInterval"] = "00:00:05",
        ["DurableJobs__WorkItemQueueVisibilityTimeout"] = "00:01:00",
        ["DurableJobs__ControlQueueVisibilityTimeout"] = "00:01:00",
        // Warnings only, but the engine's start line (how this run knows the worker is up) and the gates' row operations.
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__DurableJobs.Engine.Hosting.DurableJobsEngine"] = "Information",
        ["Logging__LogLevel__DurableJobs.Orchestration.Limits.LimitGate"] = "Information",
        ["Logging__Console__FormatterName"] = "simple",
        ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["NO_COLOR"] = "1",
    };

    private static Dictionary<string, string?> ClientSettings() => new()
    {
        ["DurableJobs:RunWorker"] = "false",
        [$"DurableJobs:NamedLimits:{Tight}:MaxConcurrent"] = $"{Limit}",
        [$"DurableJobs:NamedLimits:{Wide}:MaxConcurrent"] = $"{WideLimit}",
        [$"DurableJobs:NamedLimits:{WarmUp}:MaxConcurrent"] = $"{WideLimit}",
    };

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Azurite may still hold a file for a moment; the temp folder is the OS's to clean.
        }
    }

    [GeneratedRegex(@"Limit (?<limit>\w+): (?<reads>\d+) row reads, (?<writes>\d+) row writes, (?<conflicts>\d+) lost")]
    private static partial Regex OperationsLine();
}
