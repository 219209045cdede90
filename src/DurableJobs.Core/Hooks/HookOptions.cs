namespace DurableJobs.Core.Hooks;

/// <summary>Completion hooks: the webhook secret and where webhooks may go (configuration section <c>DurableJobs:Hooks</c>).</summary>
public sealed class HookOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Hooks";

    /// <summary>
    /// The HMAC-SHA256 key webhook bodies are signed with (header <c>X-DurableJobs-Signature: sha256=HEX</c>). Without it,
    /// requests with a webhook are refused: an unsigned hook could be forged by anyone who can reach the receiver.
    /// Every process that submits or runs batches needs the same value.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>Allow webhooks to private, loopback and link-local addresses (checked at submission and on every connect).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>For development: allow plain http to a loopback host (<c>localhost</c>, 127.0.0.1, [::1]).</summary>
    public bool AllowLoopbackHttp { get; set; }

    /// <summary>How long delivery is retried after the batch ended, when the request does not say.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest delivery deadline a request may ask for.</summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long one webhook attempt may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
