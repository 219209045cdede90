using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

/// <summary>The HTTP API of an API process, as a client sees it.</summary>
public sealed class BatchApi : IDisposable
{
    public BatchApi(Uri baseAddress) =>
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) };

    public HttpClient Http { get; }

    /// <summary>A batch request of <paramref name="count"/> jobs of one type and payload.</summary>
    public static string Batch(string batchId, int maxParallel, int count, string type, string payloadJson, int? deadlineSeconds = null)
    {
        var json = new StringBuilder();
        json.Append($$"""{"batchId":"{{batchId}}","maxParallel":{{maxParallel}},""");
        if (deadlineSeconds is { } deadline)
        {
            json.Append($"\"deadlineSeconds\":{deadline},");
        }

        json.Append("\"jobs\":[");
        for (int i = 0; i < count; i++)
        {
            json.Append(i == 0 ? string.Empty : ",").Append($$"""{"id":"j{{i:D4}}","type":"{{type}}","payload":{{payloadJson}}}""");
        }

        return json.Append("]}").ToString();
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string json)
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await Http.PostAsync("/api/batches", content);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Asks for a cancel as every client must: a JSON body (a form post or no body at all is refused with 415).</summary>
    public Task<HttpResponseMessage> CancelAsync(string batchId, string? reason = null)
    {
        var content = new StringContent(reason is null ? "{}" : JsonSerializer.Serialize(new { reason }), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return Http.PostAsync($"/api/batches/{Uri.EscapeDataString(batchId)}/cancel", content);
    }

    /// <summary>Submits and asserts the batch was accepted as new.</summary>
    public async Task SubmitAsync(string json)
    {
        (HttpStatusCode status, JsonElement body) = await PostAsync(json);
        Assert.True(status == HttpStatusCode.Accepted, $"submit: {(int)status} {body}");
        Assert.False(body.GetProperty("existing").GetBoolean());
    }

    public async Task<JsonElement?> GetBatchAsync(string batchId)
    {
        using HttpResponseMessage response = await Http.GetAsync($"/api/batches/{batchId}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Polls until the batch has finished (any final status) and returns its view.</summary>
    public async Task<JsonElement> WaitFinishedAsync(string batchId, TimeSpan timeout, Func<string>? context = null)
    {
        var clock = Stopwatch.StartNew();
        JsonElement? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = await GetBatchAsync(batchId);
                if (last?.GetProperty("status").GetString() is "Completed" or "Failed" or "Cancelled" or "TimedOut")
                {
                    return last.Value;
                }
            }
            catch (HttpRequestException)
            {
                // The API process may answer 500 while storage is down; keep asking.
            }
            catch (TaskCanceledException)
            {
                // Same, slowly.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"batch {batchId} did not finish within {timeout.TotalSeconds:0} s; last view: {last}{Environment.NewLine}{context?.Invoke()}");
    }

    /// <summary>The batch's progress counter of succeeded jobs, or 0 while unknown.</summary>
    public async Task<int> SucceededAsync(string batchId)
    {
        JsonElement? view = await GetBatchAsync(batchId);
        return view?.GetProperty("succeeded").GetInt32() ?? 0;
    }

    /// <summary>Every recorded job result of the batch, paging through.</summary>
    public async Task<List<JobRecord>> GetJobsAsync(string batchId)
    {
        var jobs = new List<JobRecord>();
        string? token = null;
        do
        {
            string url = $"/api/batches/{batchId}/jobs?top=1000" + (token is null ? string.Empty : $"&continuationToken={Uri.EscapeDataString(token)}");
            using HttpResponseMessage response = await Http.GetAsync(url);
            Assert.True(response.IsSuccessStatusCode, $"GET {url}: {(int)response.StatusCode}");
            JsonElement page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            jobs.AddRange(page.GetProperty("items").EnumerateArray().Select(JobRecord.From));
            token = page.GetProperty("continuationToken").ValueKind == JsonValueKind.String ? page.GetProperty("continuationToken").GetString() : null;
        }
        while (token is not null);
        return jobs;
    }

    /// <summary>Ids of every batch the hub lists.</summary>
    public async Task<List<string>> ListIdsAsync()
    {
        using HttpResponseMessage response = await Http.GetAsync("/api/batches?top=1000");
        response.EnsureSuccessStatusCode();
        JsonElement list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return list.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();
    }

    public void Dispose() => Http.Dispose();
}
