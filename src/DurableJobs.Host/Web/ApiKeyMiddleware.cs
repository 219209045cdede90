using System.Security.Cryptography;
using System.Text;
using DurableJobs.Api;
using DurableJobs.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace DurableJobs.Host.Web;

/// <summary>
/// Requires the API key on every request when one is configured: in the <c>x-functions-key</c> header or the
/// <c>code</c> query parameter, exactly as Azure Functions' function-level authorization takes it.
/// </summary>
internal sealed class ApiKeyMiddleware
{
    /// <summary>The header carrying the key.</summary>
    public const string HeaderName = "x-functions-key";

    /// <summary>The query parameter carrying the key.</summary>
    public const string QueryName = "code";

    private readonly RequestDelegate next;
    private readonly byte[]? key;

    /// <summary>Creates the middleware; a null or empty <paramref name="apiKey"/> lets every request through.</summary>
    public ApiKeyMiddleware(RequestDelegate next, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(next);
        this.next = next;
        key = string.IsNullOrEmpty(apiKey) ? null : Encoding.UTF8.GetBytes(apiKey);
    }

    /// <summary>Checks the request.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The dashboard's assets hold no data; the page sends the key with every API call it makes.
        if (key is null || context.GetEndpoint()?.Metadata.GetMetadata<PublicAssetMetadata>() is not null
            || Matches(context.Request.Headers[HeaderName]) || Matches(context.Request.Query[QueryName]))
        {
            return next(context);
        }

        return new ApiError(
            StatusCodes.Status401Unauthorized, "api-key-required", "An API key is required.",
            $"Send the key configured in DurableJobs:ApiKey in the '{HeaderName}' header or the '{QueryName}' query parameter.").ToResult().ExecuteAsync(context);
    }

    /// <summary><paramref name="query"/> with the value of every <see cref="QueryName"/> parameter (matched as the key check matches it, ignoring case) replaced by <c>***</c>.</summary>
    internal static string WithoutKey(QueryString query)
    {
        if (!query.HasValue || query.Value!.Length <= 1)
        {
            return query.Value ?? string.Empty;
        }

        string[] parameters = query.Value[1..].Split('&');
        for (int i = 0; i < parameters.Length; i++)
        {
            string name = parameters[i].Split('=', 2)[0];
            if (Uri.UnescapeDataString(name.Replace('+', ' ')).Equals(QueryName, StringComparison.OrdinalIgnoreCase))
            {
                parameters[i] = name + "=***";
            }
        }

        return "?" + string.Join('&', parameters);
    }

    private bool Matches(StringValues provided) =>
        provided.Count == 1 && provided[0] is { Length: > 0 } value
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(value), key);
}
