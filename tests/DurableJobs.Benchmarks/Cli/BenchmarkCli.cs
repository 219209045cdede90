using DurableJobs.Benchmarks.Reporting;
using DurableJobs.Benchmarks.Scenarios;

namespace DurableJobs.Benchmarks.Cli;

/// <summary>
/// <c>DurableJobs.Benchmarks [scenario...|all] [--quick] [--out FILE] [--verbose]</c>. Scenarios come from
/// <see cref="ScenarioCatalog"/>, so a new one needs no change here.
/// </summary>
public static class BenchmarkCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        RunSettings? settings = Parse(args, out string? error);
        if (settings is null)
        {
            if (error is not null)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            }

            PrintUsage();
            return error is null ? 0 : 2;
        }

        using var report = new Report(settings.OutputPath);
        report.Heading(1, "DurableJobs benchmarks");
        MachineInfo.Write(report, settings);

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C stops the scenario politely; the report keeps what was measured.
            e.Cancel = true;
            cts.Cancel();
        };

        foreach (string name in settings.Scenarios)
        {
            IBenchmarkScenario scenario = ScenarioCatalog.Find(name)!;
            report.Heading(2, $"{scenario.Name}: {scenario.Title}");
            try
            {
                await scenario.RunAsync(new ScenarioContext(report, settings), cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                report.Line("Interrupted.");
                return 130;
            }
            catch (Exception ex)
            {
                // A batch that never became final, or one that ended short: say which and how (its id and counts are in
                // the message), and fail the run instead of leaving CI to a stack trace or a hang.
                report.Line($"**{scenario.Name} failed:** {ex.Message}");
                await Console.Error.WriteLineAsync($"{scenario.Name} failed: {ex}").ConfigureAwait(false);
                return 1;
            }
        }

        return 0;
    }

    private static RunSettings? Parse(string[] args, out string? error)
    {
        error = null;
        var names = new List<string>();
        bool quick = false;
        bool verbose = false;
        string? output = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help" or "help":
                    return null;
                case "--quick":
                    quick = true;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                case "--out":
                    if (i + 1 >= args.Length)
                    {
                        error = "--out needs a file name.";
                        return null;
                    }

                    output = args[++i];
                    break;
                case "all":
                    names.AddRange(ScenarioCatalog.All.Where(s => s.InAll).Select(s => s.Name));
                    break;
                default:
                    if (ScenarioCatalog.Find(args[i]) is null)
                    {
                        error = $"Unknown scenario or option '{args[i]}'.";
                        return null;
                    }

                    names.Add(args[i]);
                    break;
            }
        }

        if (names.Count == 0)
        {
            error = "Name a scenario, or 'all'.";
            return null;
        }

        return new RunSettings([.. names.Distinct(StringComparer.OrdinalIgnoreCase)], quick, output, verbose);
    }

    private static void PrintUsage()
    {
        Console.WriteLine("usage: dotnet run -c Release --project tests/DurableJobs.Benchmarks -- <scenario...|all> [--quick] [--out FILE] [--verbose]");
        Console.WriteLine();
        Console.WriteLine("scenarios:");
        foreach (IBenchmarkScenario s in ScenarioCatalog.All)
        {
            Console.WriteLine($"  {s.Name,-12} {s.Title}{(s.InAll ? "" : " (not in 'all')")}");
        }

        Console.WriteLine();
        Console.WriteLine("  --quick      short smoke run (CI): fewer items, runs and iterations; numbers are rough");
        Console.WriteLine("  --out FILE   also write the Markdown report to FILE");
        Console.WriteLine("  --verbose    show BenchmarkDotNet's own log");
    }
}
