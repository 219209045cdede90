using System.Diagnostics;
using System.Globalization;
using DurableJobs.Benchmarks.Engine;
using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;
using DurableJobs.Benchmarks.Utilisation;
using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Benchmarks.Soak;

/// <summary>
/// The same short batch again and again in one warm host (1,000 × 10 ms at cap 10 unless told otherwise): what hunts
/// a rare stuck batch. A run that is not final within the benchmark's patience writes the host's recent log lines
/// beside the report and fails the scenario.
/// </summary>
public sealed class SoakScenario : IBenchmarkScenario
{
    /// <summary>How many batches (default 30; 5 in a quick run).</summary>
    public const string RunsVariable = "DURABLEJOBS_SOAK_RUNS";

    /// <summary>The cell, as <c>duration/cap</c> with an optional <c>/jobs</c> (default <c>10ms/10/1000</c>).</summary>
    public const string CellVariable = "DURABLEJOBS_SOAK_CELL";

    public string Name => "soak";

    public string Title => "one short batch repeated in a warm host: every run must finish (hunts rare stuck batches)";

    public bool InAll => false;

    public async Task RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        int runs = int.TryParse(Environment.GetEnvironmentVariable(RunsVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : context.Quick ? 5 : 30;
        UtilisationCell cell = Cell(Environment.GetEnvironmentVariable(CellVariable));
        var ring = new LogRing();
        string data = Directory.CreateTempSubdirectory("durablejobs-bench-soak-azurite-").FullName;
        var seconds = new List<double>(runs);
        try
        {
            await using AzuriteProcess azurite = await AzuriteProcess.StartAsync(
                new AzuriteOptions { BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
                NullLogger.Instance,
                cancellationToken).ConfigureAwait(false);
            using IHost host = await BenchmarkEngineHost.StartAsync(azurite.ConnectionString, "soak", new Dictionary<string, string?>(), registry: null, cancellationToken, ring).ConfigureAwait(false);
            try
            {
                for (int i = 0; i < runs; i++)
                {
                    ring.Clear();
                    var clock = Stopwatch.StartNew();
                    try
                    {
                        await DurableJobsRun.BatchAsync(host.Services, cell, cell.Jobs, eachPoll: null, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
                    {
                        string path = Path.GetFullPath($"soak-stuck-{DateTime.UtcNow:HHmmss}.log");
                        ring.WriteTo(path);
                        context.Report.Line($"Run {i + 1} of {runs} did not finish: {ex.Message} Host log: {path}");
                        throw;
                    }

                    seconds.Add(clock.Elapsed.TotalSeconds);
                    Report.Progress($"soak: run {i + 1}/{runs} ({cell.Label}, {cell.Jobs} jobs) final in {clock.Elapsed.TotalSeconds:0.00} s");
                }
            }
            finally
            {
                await BenchmarkEngineHost.StopAsync(host).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        context.Report.Line(string.Create(CultureInfo.InvariantCulture,
            $"{runs} runs of {cell.Jobs} × {cell.Label} in one warm host, every one final: submit → final {seconds.Min():0.00}–{seconds.Max():0.00} s, median {seconds.Order().ElementAt(seconds.Count / 2):0.00} s."));
    }

    private static UtilisationCell Cell(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return new UtilisationCell(TimeSpan.FromMilliseconds(10), 10, 1_000);
        }

        string[] parts = text.Split('/');
        UtilisationCell full = UtilisationCell.Parse(string.Join('/', parts.Take(2)))[0];
        return parts.Length > 2 ? full with { Jobs = int.Parse(parts[2], CultureInfo.InvariantCulture) } : full;
    }
}
