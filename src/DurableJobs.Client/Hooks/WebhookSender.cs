using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using DurableJobs.Core.Hooks;

namespace DurableJobs.Client.Hooks;

/// <summary>
/// POSTs a signed webhook. The body is signed with HMAC-SHA256 under <see cref="HookOptions.Secret"/>
/// (<see cref="SignatureHeader"/>: <c>sha256=</c> and the lowercase hex digest of the body's bytes); every attempt for
/// a batch carries the same <see cref="IdempotencyHeader"/> (the batch id). Connections go only to addresses
/// <see cref="HookTargets.IsAllowed"/> allows, checked after DNS resolution, and redirects are not followed (a
/// redirect could point anywhere).
/// </summary>
internal sealed class WebhookSender : IDisposable
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "X-DurableJobs-Signature";

    /// <summary>The idempotency header: the batch id, the same on every attempt and redelivery.</summary>
    public const string IdempotencyHeader = "Idempotency-Key";

    /// <summary>The attempt number, from 1.</summary>
    public const string AttemptHeader = "X-DurableJobs-Delivery-Attempt";

    private readonly HookOptions options;
    private readonly HttpClient http;

    /// <summary>Creates the sender.</summary>
    public WebhookSender(HookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = ConnectAsync,
        };
        http = new HttpClient(handler) { Timeout = options.RequestTimeout };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("DurableJobs-Hooks/1");
    }

    /// <summary>The signature header's value for <paramref name="body"/> under <paramref name="secret"/>.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>POSTs <paramref name="json"/>; null when the receiver took it (2xx), else why not.</summary>
    public async Task<string?> PostAsync(string url, string json, string batchId, int attempt, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.Secret))
        {
            return "No signing secret is configured on this worker (DurableJobs:Hooks:Secret).";
        }

        if (HookTargets.CheckWebhook(url, options) is { } refused)
        {
            return refused;
        }

        byte[] body = Encoding.UTF8.GetBytes(json);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(SignatureHeader, Sign(options.Secret, body));
        request.Headers.Add(IdempotencyHeader, batchId);
        request.Headers.Add(AttemptHeader, attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        }
        catch (HttpRequestException ex)
        {
            return ex.Message;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"No answer within {options.RequestTimeout.TotalSeconds:0} s.";
        }
    }

    /// <inheritdoc />
    public void Dispose() => http.Dispose();

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        string host = context.DnsEndPoint.Host;
        IPAddress[] resolved = IPAddress.TryParse(host, out IPAddress? literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        IPAddress[] allowed = Array.FindAll(resolved, a => HookTargets.IsAllowed(a, options));
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"{host} resolves only to private, loopback or link-local addresses, which webhooks may not reach (DurableJobs:Hooks:AllowPrivateNetworks).");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
