using System.Globalization;

namespace DurableJobs.Benchmarks.Utilisation;

/// <summary>One cell of the grid: jobs of <paramref name="Duration"/> at cap <paramref name="Cap"/>, <paramref name="Jobs"/> of them.</summary>
internal sealed record UtilisationCell(TimeSpan Duration, int Cap, int Jobs)
{
    /// <summary>The batch limit: no more jobs per batch than this.</summary>
    public const int MaxJobs = 100_000;

    /// <summary>Seconds a full-size cell runs at the physical limit (the issue asks for 10–30 s).</summary>
    public const double FullSeconds = 15;

    /// <summary>The physical limit, cap ÷ duration: the most jobs/s any system can run.</summary>
    public double LimitPerSecond => Cap / Duration.TotalSeconds;

    public string Label => $"{DurationLabel(Duration)} × cap {Cap.ToString("N0", CultureInfo.InvariantCulture)}";

    /// <summary>A full-size cell: <see cref="FullSeconds"/> at the limit, within the batch limit.</summary>
    public static UtilisationCell Full(TimeSpan duration, int cap) =>
        new(duration, cap, (int)Math.Min(MaxJobs, Math.Round(FullSeconds * cap / duration.TotalSeconds)));

    /// <summary>
    /// Cells named like <c>10ms/10,1s/100</c> (duration/cap, comma separated), full size; for running a few cells of
    /// the grid (the <c>DURABLEJOBS_UTILISATION_CELLS</c> environment variable).
    /// </summary>
    /// <exception cref="FormatException">A cell that does not read.</exception>
    public static IReadOnlyList<UtilisationCell> Parse(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseOne)];

    private static UtilisationCell ParseOne(string cell)
    {
        string[] parts = cell.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int cap) || cap < 1)
        {
            throw new FormatException($"'{cell}' is not duration/cap, e.g. 100ms/10.");
        }

        string d = parts[0];
        TimeSpan duration = d.EndsWith("ms", StringComparison.Ordinal) && int.TryParse(d[..^2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : d.EndsWith('s') && int.TryParse(d[..^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) && s > 0
                ? TimeSpan.FromSeconds(s)
                : throw new FormatException($"'{d}' is not a duration such as 10ms or 1s.");
        return Full(duration, cap);
    }

    private static string DurationLabel(TimeSpan d) => d.TotalMilliseconds < 1000
        ? d.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms"
        : d.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
}
