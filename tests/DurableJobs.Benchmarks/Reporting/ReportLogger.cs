using BenchmarkDotNet.Loggers;

namespace DurableJobs.Benchmarks.Reporting;

/// <summary>Lets BenchmarkDotNet's exporters write their tables into our report.</summary>
public sealed class ReportLogger(Report report) : ILogger
{
    private readonly System.Text.StringBuilder pending = new();

    public string Id => nameof(ReportLogger);

    public int Priority => 0;

    public void Write(LogKind logKind, string text) => pending.Append(text);

    public void WriteLine()
    {
        report.Line(pending.ToString());
        pending.Clear();
    }

    public void WriteLine(LogKind logKind, string text)
    {
        pending.Append(text);
        WriteLine();
    }

    public void Flush()
    {
        if (pending.Length > 0)
        {
            WriteLine();
        }
    }
}
