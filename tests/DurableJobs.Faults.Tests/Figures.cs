namespace DurableJobs.Faults.Tests;

/// <summary>The suite's measurements: written to the test output (visible with a detailed logger) and to stdout.</summary>
public static class Figures
{
    public static void Report(ITestOutputHelper output, string test, string figure)
    {
        string line = $"FIGURE [{test}] {figure}";
        output.WriteLine(line);
        Console.WriteLine(line);
    }
}
