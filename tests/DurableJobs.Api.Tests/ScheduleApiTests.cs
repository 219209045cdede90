using System.Net;
using System.Text;
using System.Text.Json;
using DurableJobs.Testing;

namespace DurableJobs.Api.Tests;

public sealed class ScheduleApiHostFixture : HostFixture
{
    protected override string HubName => "ApiScheduleTests";
}

/// <summary>The schedules' HTTP API on the embedded host over a real Azurite.</summary>
[Collection(StorageCollection.Name)]
public sealed class ScheduleApiTests(EmulatorFixture storage, ScheduleApiHostFixture fixture) : IClassFixture<ScheduleApiHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private RunningHost host = null!;

    public async Task InitializeAsync() => host = await fixture.GetAsync(storage);

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string[]> BadSchedules => new()
    {
        { """{"cron":"0 2 * *","template":{"jobs":[{"type":"echo"}]}}""", ["cron"] },
        { """{"cron":"0 2 * * *","timeZone":"Europe/Atlantis","template":{"jobs":[{"type":"echo"}]}}""", ["timeZone"] },
        { """{"cron":"0 2 * * *","template":{"jobs":[]}}""", ["template.jobs"] },
        { """{"cron":"0 2 * * *"}""", ["template"] },
        { """{"cron":"0 0 30 2 *","template":{"jobs":[{"type":"echo"}]}}""", ["cron"] },
        { """{"cron":"0 2 * * *","endAt":"2020-01-01T00:00:00Z","template":{"jobs":[{"type":"echo"}]}}""", ["endAt"] },
        { """{"cron":"0 2 * * *","overlap":"sometimes","template":{"jobs":[{"type":"echo"}]}}""", ["overlap"] },
        { """{"cron":"0 2 * * *","startAt":"2027-01-01T00:00:00","template":{"jobs":[{"type":"echo"}]}}""", ["startAt"] },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public async Task Bad_schedules_are_400_problems_naming_the_field_and_nothing_is_stored(string body, string[] fields)
    {
        string name = "bad-" + Guid.NewGuid().ToString("N")[..8];
        using HttpResponseMessage response = await PutAsync(name, body);
        string code = fields[0] is "overlap" or "startAt" ? "wrong-json-type" : "validation-failed";
        JsonElement problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, code);
        Assert.Equal(fields, Problems.ErrorKeys(problem));
        await Problems.AssertAsync(await host.Http.GetAsync($"/api/schedules/{name}"), HttpStatusCode.NotFound, "schedule-not-found");
    }

    [Fact]
    public async Task A_schedule_is_created_read_listed_paused_triggered_and_deleted_over_http()
    {
        using HttpResponseMessage created = await PutAsync("http-nightly", """{"cron":"0 2 * * *","timeZone":"Europe/Berlin","template":{"jobs":[{"type":"echo","payload":"hi"}]}}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(new Uri(host.BaseAddress, "/api/schedules/http-nightly"), created.Headers.Location);

        JsonElement view = await GetJsonAsync("/api/schedules/http-nightly");
        Assert.Equal("0 2 * * *", view.GetProperty("definition").GetProperty("cron").GetString());
        DateTimeOffset next = view.GetProperty("nextOccurrences")[0].GetDateTimeOffset();
        Assert.Equal(TimeSpan.Zero, next.Offset);
        Assert.Contains(next.Hour, new[] { 0, 1 }); // 02:00 Berlin is 00:00 or 01:00 UTC
        Assert.Contains((await GetJsonAsync("/api/schedules")).GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == "http-nightly");

        using HttpResponseMessage paused = await PostAsync("/api/schedules/http-nightly/pause");
        Assert.Equal(HttpStatusCode.Accepted, paused.StatusCode);
        await Eventually.MatchAsync(() => GetJsonAsync("/api/schedules/http-nightly"), v => v.GetProperty("paused").GetBoolean(), Patience, TimeSpan.FromMilliseconds(100), "paused");

        // A trigger runs even while paused; the run is listed with its batch id and outcome.
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync("/api/schedules/http-nightly/trigger")).StatusCode);
        JsonElement run = (await Eventually.MatchAsync(
            () => GetJsonAsync("/api/schedules/http-nightly"),
            v => v.GetProperty("runs").GetArrayLength() == 1 && v.GetProperty("runs")[0].TryGetProperty("outcome", out JsonElement o) && o.GetString() == "Completed",
            Patience, TimeSpan.FromMilliseconds(200), "the triggered run completed")).GetProperty("runs")[0];
        Assert.Equal("manual", run.GetProperty("trigger").GetString());
        Assert.StartsWith("http-nightly-manual-", run.GetProperty("batchId").GetString(), StringComparison.Ordinal);
        Assert.Equal("Completed", (await GetJsonAsync($"/api/batches/{run.GetProperty("batchId").GetString()}")).GetProperty("status").GetString());

        using HttpResponseMessage updated = await PutAsync("http-nightly", """{"cron":"0 3 * * *","timeZone":"Europe/Berlin","template":{"jobs":[{"type":"echo"}]}}""");
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        await Eventually.MatchAsync(() => GetJsonAsync("/api/schedules/http-nightly"), v => v.GetProperty("definition").GetProperty("cron").GetString() == "0 3 * * *", Patience, TimeSpan.FromMilliseconds(100), "updated");

        Assert.Equal(HttpStatusCode.NoContent, (await host.Http.DeleteAsync("/api/schedules/http-nightly")).StatusCode);
        await Problems.AssertAsync(await host.Http.GetAsync("/api/schedules/http-nightly"), HttpStatusCode.NotFound, "schedule-not-found");
        await Problems.AssertAsync(await PostAsync("/api/schedules/http-nightly/trigger"), HttpStatusCode.NotFound, "schedule-not-found");
        await Problems.AssertAsync(await host.Http.DeleteAsync("/api/schedules/http-nightly"), HttpStatusCode.NotFound, "schedule-not-found");
    }

    [Fact]
    public async Task Commands_posted_as_a_form_are_refused_415()
    {
        using var form = new StringContent("x=1", Encoding.UTF8, "application/x-www-form-urlencoded");
        await Problems.AssertAsync(await host.Http.PostAsync("/api/schedules/any/trigger", form), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
    }

    private Task<HttpResponseMessage> PutAsync(string name, string json) =>
        host.Http.PutAsync($"/api/schedules/{name}", new StringContent(json, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> PostAsync(string path) =>
        host.Http.PostAsync(path, new StringContent("{}", Encoding.UTF8, "application/json"));

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await host.Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
