namespace DurableJobs.Benchmarks.Reporting;

/// <summary>Nearest-rank percentiles over a sample (no interpolation: every reported value was observed).</summary>
public sealed class Percentiles
{
    private readonly double[] sorted;

    public Percentiles(IEnumerable<double> samples)
    {
        sorted = [.. samples.Order()];
        if (sorted.Length == 0)
        {
            throw new ArgumentException("No samples.", nameof(samples));
        }
    }

    public int Count => sorted.Length;

    public double Max => sorted[^1];

    public double At(double quantile)
    {
        int rank = (int)Math.Ceiling(quantile * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
