using System.Net;
using System.Net.Sockets;

namespace DurableJobs.Core.Hooks;

/// <summary>
/// Where a webhook may go. A job queue that POSTs to any URL a client names would let that client probe and call the
/// network the workers sit in (cloud metadata at 169.254.169.254, internal services), so private, loopback and
/// link-local targets are refused unless a setting allows them: at submission for literal addresses and
/// <c>localhost</c>, and again on every connect for the addresses a host name resolves to (a name can point anywhere,
/// and can change after it was checked).
/// </summary>
internal static class HookTargets
{
    /// <summary>Longest webhook URL accepted.</summary>
    public const int MaxUrlLength = 2048;

    /// <summary>Why <paramref name="url"/> may not be a webhook under <paramref name="options"/>, or null when it may.</summary>
    public static string? CheckWebhook(string? url, HookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.IsFile || uri.IsUnc)
        {
            return "Must be an absolute https URL.";
        }

        if (url.Length > MaxUrlLength)
        {
            return $"Must be at most {MaxUrlLength} characters long (got {url.Length}).";
        }

        if (uri.UserInfo.Length > 0)
        {
            // It would be stored in the batch's history and shown wherever the request is.
            return "Must not carry credentials; the body is signed with the configured secret instead.";
        }

        bool loopback = IsLoopbackHost(uri);
        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            if (!(loopback && options.AllowLoopbackHttp))
            {
                return "Must use https (plain http only to a loopback host, in development: DurableJobs:Hooks:AllowLoopbackHttp).";
            }
        }
        else if (uri.Scheme != Uri.UriSchemeHttps)
        {
            return "Must use https.";
        }

        bool allowed = IPAddress.TryParse(uri.IdnHost, out IPAddress? address) ? IsAllowed(address, options)
            : !loopback || options.AllowLoopbackHttp || options.AllowPrivateNetworks;
        return allowed ? null : "Targets a private, loopback or link-local address; DurableJobs:Hooks:AllowPrivateNetworks allows that.";
    }

    /// <summary>True when a webhook may connect to <paramref name="address"/>.</summary>
    public static bool IsAllowed(IPAddress address, HookOptions options)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(options);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return options.AllowLoopbackHttp || options.AllowPrivateNetworks;
        }

        return options.AllowPrivateNetworks || !IsPrivate(address);
    }

    /// <summary>True for addresses that are not on the public internet: private, shared, link-local, unspecified, multicast, reserved.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            byte[] b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 or >= 224 // this network, private, loopback, multicast and reserved
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) // shared address space (carrier NAT)
                || (b[0] == 169 && b[1] == 254) // link-local, cloud metadata
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0) // IETF protocol assignments
                || (b[0] == 198 && b[1] is 18 or 19); // benchmarking
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            byte[] b = address.GetAddressBytes();
            bool nat64 = b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0;
            return address.Equals(IPAddress.IPv6None) || IPAddress.IsLoopback(address)
                || (b[0] & 0xfe) == 0xfc // unique local
                || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (nat64 && IsPrivate(new IPAddress(b.AsSpan(12, 4))));
        }

        return true;
    }

    private static bool IsLoopbackHost(Uri uri) =>
        uri.IsLoopback || uri.IdnHost.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);

    /// <summary>True when <paramref name="name"/> is a valid Azure Storage queue name.</summary>
    public static bool IsQueueName(string name) =>
        name.Length is >= 3 and <= 63
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && name.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c == '-')
        && !name.Contains("--", StringComparison.Ordinal);
}
