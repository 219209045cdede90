using System.Net;

namespace DurableJobs.Host.Web;

/// <summary>Which listen addresses keep the embedded host private to this machine.</summary>
internal static class BindingRules
{
    /// <summary>True when <paramref name="url"/> listens on a loopback address only (127.0.0.0/8, [::1], localhost).</summary>
    public static bool IsLoopback(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);

        // Wildcards ("*", "+", "0.0.0.0", "[::]") do not parse as URIs with a loopback host, so they count as public.
        string candidate = url.Trim().Replace("://*", "://wildcard.invalid", StringComparison.Ordinal).Replace("://+", "://wildcard.invalid", StringComparison.Ordinal);
        if (!Uri.TryCreate(candidate, UriKind.Absolute, out Uri? uri))
        {
            return false;
        }

        return IsLoopbackHost(uri.Host);
    }

    /// <summary>True when the host name <paramref name="host"/> (no port) names this machine's loopback: localhost, 127.0.0.0/8 or [::1].</summary>
    public static bool IsLoopbackHost(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? address) && IPAddress.IsLoopback(address);
    }

    /// <summary>True when every one of <paramref name="urls"/> is loopback.</summary>
    public static bool AllLoopback(IEnumerable<string> urls)
    {
        ArgumentNullException.ThrowIfNull(urls);
        return urls.All(IsLoopback);
    }
}
