namespace DurableJobs.Benchmarks.Reporting;

/// <summary>Markdown to the console and, when asked, to a file, so a run's output can go straight into docs.</summary>
public sealed class Report : IDisposable
{
    private readonly StreamWriter? file;

    public Report(string? path)
    {
        if (path is not null)
        {
            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            file = new StreamWriter(path, append: false) { AutoFlush = true };
        }
    }

    public void Line(string text = "")
    {
        Console.WriteLine(text);
        file?.WriteLine(text);
    }

    public void Heading(int level, string text)
    {
        Line();
        Line($"{new string('#', level)} {text}");
        Line();
    }

    public void Table(MarkdownTable table)
    {
        // A table must not touch the paragraph before it, or Markdown renders it as text.
        Line();
        foreach (string row in table.Render())
        {
            Line(row);
        }

        Line();
    }

    /// <summary>Progress for the person watching; not part of the file.</summary>
    public static void Progress(string text) => Console.Error.WriteLine($"  .. {text}");

    public void Dispose() => file?.Dispose();
}
