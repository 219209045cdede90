namespace DurableJobs.Benchmarks.Reporting;

/// <summary>A pipe table with padded columns, readable both raw and rendered.</summary>
public sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> rows = [];

    public MarkdownTable Row(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"Expected {headers.Length} cells, got {cells.Length}.", nameof(cells));
        }

        rows.Add(cells);
        return this;
    }

    public IEnumerable<string> Render()
    {
        int[] widths = [.. headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length)))];
        yield return Format(headers, widths);
        yield return "| " + string.Join(" | ", widths.Select(w => new string('-', Math.Max(3, w)))) + " |";
        foreach (string[] row in rows)
        {
            yield return Format(row, widths);
        }
    }

    private static string Format(string[] cells, int[] widths) =>
        "| " + string.Join(" | ", cells.Select((c, i) => c.PadRight(Math.Max(3, widths[i])))) + " |";
}
