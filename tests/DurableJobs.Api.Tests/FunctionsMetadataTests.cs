using System.Reflection;
using System.Text.Json;

namespace DurableJobs.Api.Tests;

public sealed class FunctionsMetadataTests
{
    private static readonly Lazy<JsonElement[]> Functions = new(Load);

    public static TheoryData<string, string, string[]> HttpFunctions() => new()
    {
        { "SubmitBatch", "batches", ["post"] },
        { "ListBatches", "batches", ["get"] },
        { "GetBatch", "batches/{id}", ["get"] },
        { "GetBatchJobs", "batches/{id}/jobs", ["get"] },
        { "GetBatchTimeline", "batches/{id}/timeline", ["get"] },
        { "CancelBatch", "batches/{id}/cancel", ["post"] },
        { "Health", "healthz", ["get"] },
        { "SetSchedule", "schedules/{name}", ["put"] },
        { "ListSchedules", "schedules", ["get"] },
        { "GetSchedule", "schedules/{name}", ["get"] },
        { "DeleteSchedule", "schedules/{name}", ["delete"] },
        { "PauseSchedule", "schedules/{name}/pause", ["post"] },
        { "ResumeSchedule", "schedules/{name}/resume", ["post"] },
        { "TriggerSchedule", "schedules/{name}/trigger", ["post"] },
        { "PauseBatch", "batches/{id}/pause", ["post"] },
        { "PatchBatch", "batches/{id}", ["patch"] },
        { "ResumeBatch", "batches/{id}/resume", ["post"] },
        { "RerunBatch", "batches/{id}/rerun", ["post"] },
        { "DeleteBatch", "batches/{id}", ["delete"] },
    };

    [Fact]
    public void The_app_declares_exactly_the_expected_functions()
    {
        string[] names = Functions.Value.Select(f => f.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
            ["BatchHookOrchestrator", "BatchOrchestrator", "BatchPartOrchestrator", "BatchQueueTrigger", "CancelBatch", "DeleteBatch", "DeleteSchedule", "DeliverBatchHook", "ExecuteJobs", "FindRunningBatches", "GetBatch", "GetBatchJobs", "GetBatchTimeline", "GetLimitTimeline", "GetSchedule",
             "Health", "ListBatches", "ListLimits", "ListSchedules", "PatchBatch", "PauseBatch", "PauseSchedule", "RecordUnstarted", "RerunBatch", "ResumeBatch", "ResumeSchedule", "RetentionSweep", "ScheduleOrchestrator", "SetLimit", "SetSchedule", "SignalCancel", "StartScheduledBatch", "SubmitBatch", "TriggerSchedule"],
            names);
    }

    [Theory]
    [MemberData(nameof(HttpFunctions))]
    public void Http_functions_have_their_route_methods_function_auth_and_a_durable_client(string name, string route, string[] methods)
    {
        JsonElement[] bindings = BindingsOf(name);
        JsonElement trigger = Assert.Single(bindings, b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal("In", trigger.GetProperty("direction").GetString());
        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal(methods, trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "durableClient");
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "http" && b.GetProperty("direction").GetString() == "Out");
    }

    [Theory]
    [InlineData("ListLimits", "limits", "get")]
    [InlineData("SetLimit", "limits/{name}", "put")]
    [InlineData("GetLimitTimeline", "limits/{name}/timeline", "get")]
    public void Limit_functions_have_their_route_method_and_function_auth_without_a_durable_client(string name, string route, string method)
    {
        JsonElement[] bindings = BindingsOf(name);
        JsonElement trigger = Assert.Single(bindings, b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal(route, trigger.GetProperty("route").GetString());
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()));
        Assert.Equal("Function", trigger.GetProperty("authLevel").GetString());
        Assert.DoesNotContain(bindings, b => b.GetProperty("type").GetString() == "durableClient");
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "http" && b.GetProperty("direction").GetString() == "Out");
    }

    [Fact]
    public void The_queue_trigger_reads_the_configured_queue_with_a_durable_client()
    {
        JsonElement[] bindings = BindingsOf("BatchQueueTrigger");
        JsonElement trigger = Assert.Single(bindings, b => b.GetProperty("type").GetString() == "queueTrigger");
        Assert.Equal("%DurableJobs:BatchQueueName%", trigger.GetProperty("queueName").GetString());
        Assert.Equal("AzureWebJobsStorage", trigger.GetProperty("connection").GetString());
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Theory]
    [InlineData("BatchOrchestrator", "orchestrationTrigger")]
    [InlineData("ExecuteJobs", "activityTrigger")]
    [InlineData("RecordUnstarted", "activityTrigger")]
    [InlineData("SignalCancel", "activityTrigger")]
    [InlineData("BatchPartOrchestrator", "orchestrationTrigger")]
    [InlineData("ScheduleOrchestrator", "orchestrationTrigger")]
    public void Durable_functions_have_their_trigger(string name, string triggerType)
    {
        JsonElement trigger = Assert.Single(BindingsOf(name));
        Assert.Equal(triggerType, trigger.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("StartScheduledBatch")]
    [InlineData("FindRunningBatches")]
    [InlineData("DeliverBatchHook")]
    public void Schedule_activities_have_an_activity_trigger_and_a_durable_client(string name)
    {
        JsonElement[] bindings = BindingsOf(name);
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "activityTrigger");
        Assert.Single(bindings, b => b.GetProperty("type").GetString() == "durableClient");
    }

    [Fact]
    public void The_app_uses_the_repository_host_json()
    {
        string hostJson = Path.Combine(Path.GetDirectoryName(MetadataPath())!, "host.json");
        using JsonDocument copied = JsonDocument.Parse(File.ReadAllText(hostJson));
        Assert.Equal(File.ReadAllText(Path.Combine(RepositoryRoot(), "host.json")), File.ReadAllText(hostJson));
        JsonElement extensions = copied.RootElement.GetProperty("extensions");
        Assert.Equal("api", extensions.GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.Equal(5, extensions.GetProperty("queues").GetProperty("maxDequeueCount").GetInt32());
        Assert.Equal("none", extensions.GetProperty("queues").GetProperty("messageEncoding").GetString());
        Assert.Equal("%DurableJobs:HubName%", extensions.GetProperty("durableTask").GetProperty("hubName").GetString());
    }

    private static JsonElement[] BindingsOf(string name) =>
        Functions.Value.Single(f => f.GetProperty("name").GetString() == name).GetProperty("bindings").EnumerateArray().ToArray();

    private static JsonElement[] Load()
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(MetadataPath()));
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static string MetadataPath()
    {
        // The test project references the sample Functions app (which gets its functions from the library), so building
        // the tests builds it (same configuration).
        string configuration = typeof(FunctionsMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        string path = Path.Combine(RepositoryRoot(), "samples", "FunctionsApp", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"{path} was not generated");
        return path;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DurableJobs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("DurableJobs.sln not found above " + AppContext.BaseDirectory);
    }
}
