using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Host.Cli;

/// <summary>Talks to a running host's HTTP API, turning transport and problem+json errors into clear messages.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient http;
    private readonly Uri baseUri;

    public ApiClient(string url, string? apiKey)
    {
        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out Uri? parsed) || parsed.Scheme is not ("http" or "https"))
        {
            throw new CliException($"'{url}' is not an http(s) URL.");
        }

        baseUri = parsed;
        http = new HttpClient { BaseAddress = parsed, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is { Length: > 0 })
        {
            http.DefaultRequestHeaders.Add("x-functions-key", apiKey);
        }
    }

    public Task<JsonElement> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    public Task<JsonElement> PostAsync(string path, string? json = null) => SendAsync(new HttpRequestMessage(HttpMethod.Post, path)
    {
        Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
    });

    public Task<JsonElement> PutAsync(string path, string json) => SendAsync(new HttpRequestMessage(HttpMethod.Put, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
    });

    public Task<JsonElement> PatchAsync(string path, string json) => SendAsync(new HttpRequestMessage(HttpMethod.Patch, path)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
    });

    public Task<JsonElement> DeleteAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Delete, path));

    public void Dispose() => http.Dispose();

    private async Task<JsonElement> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request);
            }
            catch (HttpRequestException ex)
            {
                throw new CliException($"No DurableJobs host answers at {baseUri} ({ex.Message}). Start one with 'durablejobs serve', or pass --url.");
            }
            catch (TaskCanceledException)
            {
                throw new CliException($"The host at {baseUri} did not answer within {http.Timeout.TotalSeconds:0} s.");
            }

            using (response)
            {
                string body = await response.Content.ReadAsStringAsync();
                JsonElement json = body.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(body, DurableJobsJson.Options);
                if (response.IsSuccessStatusCode)
                {
                    return json;
                }

                throw new CliException(Describe(response.StatusCode, json));
            }
        }
    }

    private static string Describe(HttpStatusCode status, JsonElement problem)
    {
        if (problem.ValueKind != JsonValueKind.Object)
        {
            return $"The host answered {(int)status} {status}.";
        }

        var text = new StringBuilder();
        text.Append($"{(int)status}: ");
        text.Append(problem.TryGetProperty("detail", out JsonElement detail) ? detail.GetString() : problem.TryGetProperty("title", out JsonElement title) ? title.GetString() : status.ToString());
        if (problem.TryGetProperty("errors", out JsonElement errors) && errors.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty field in errors.EnumerateObject())
            {
                foreach (JsonElement message in field.Value.EnumerateArray())
                {
                    text.Append($"{Environment.NewLine}  {(field.Name.Length == 0 ? "(request)" : field.Name)}: {message.GetString()}");
                }
            }
        }

        return text.ToString();
    }
}
