using System.Globalization;

namespace DurableJobs.Benchmarks.Reporting;

/// <summary>Number formats shared by every table, invariant so reports diff cleanly.</summary>
public static class Fmt
{
    public static string Int(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Ms(double milliseconds) => milliseconds < 10
        ? milliseconds.ToString("0.000", CultureInfo.InvariantCulture) + " ms"
        : milliseconds.ToString("N1", CultureInfo.InvariantCulture) + " ms";

    public static string Ratio(double ratio) => double.IsFinite(ratio)
        ? ratio.ToString(ratio >= 100 ? "N0" : "0.00", CultureInfo.InvariantCulture) + "×"
        : "n/a";

    public static string Bytes(double bytes) => Math.Abs(bytes) switch
    {
        >= 1 << 30 => (bytes / (1 << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GB",
        >= 1 << 20 => (bytes / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        >= 1 << 10 => (bytes / (1 << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KB",
        _ => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
    };

    public static string Decimal(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);
}
