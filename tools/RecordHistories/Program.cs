using System.Diagnostics;
using System.Globalization;
using DurableJobs.Testing;
using DurableJobs.Tools.RecordHistories;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

// Records the histories the replay tests replay (tests/DurableJobs.Orchestration.Tests/Histories):
//   dotnet run --project tools/RecordHistories -- <out-dir> [scenario ...]
// Starts its own Azurite (the tests' StorageEmulator: Docker when it answers, else the pinned npm one on free ports),
// runs each scenario on a fresh embedded engine and task hub, and writes <out-dir>/<scenario>.json.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: RecordHistories <out-dir> [scenario ...]");
    Console.WriteLine("scenarios: " + string.Join(", ", Scenarios.All.Select(s => s.Name)));
    return args.Length == 0 ? 2 : 0;
}

string outDir = Path.GetFullPath(args[0]);
string[] unknown = [.. args.Skip(1).Where(a => Scenarios.All.All(s => s.Name != a))];
if (unknown.Length > 0)
{
    Console.Error.WriteLine($"Unknown scenario(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", Scenarios.All.Select(s => s.Name))}.");
    return 2;
}

Directory.CreateDirectory(outDir);
Scenario[] chosen = [.. Scenarios.All.Where(s => args.Length == 1 || args.Skip(1).Contains(s.Name))];
string recordedWith = string.Create(CultureInfo.InvariantCulture,
    $"DurableJobs {typeof(DurableJobs.Orchestration.BatchNames).Assembly.GetName().Version}, Durable Task Core {typeof(DurableTask.Core.TaskHubWorker).Assembly.GetName().Version}, DurableTask.AzureStorage {typeof(DurableTask.AzureStorage.AzureStorageOrchestrationService).Assembly.GetName().Version}, on Azurite, IncludeParameters on");

await using StorageEmulator emulator = await StorageEmulator.StartAsync();
Console.WriteLine($"Azurite ({emulator.Kind}) started.");
foreach (Scenario scenario in chosen)
{
    var clock = Stopwatch.StartNew();
    IReadOnlyList<RecordedInstance> instances;
    await using (RecordingHost host = await RecordingHost.StartAsync(emulator.ConnectionString, scenario.Settings))
    {
        instances = await scenario.RunAsync(host);
    }

    var file = new JObject
    {
        ["description"] = scenario.Description,
        ["recordedWith"] = recordedWith,
        ["recordedAtUtc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        ["settings"] = JObject.FromObject(scenario.Settings),
        ["instances"] = new JArray(instances.Select(i => new JObject
        {
            ["instanceId"] = i.InstanceId,
            ["executionId"] = i.ExecutionId,
            ["outcome"] = i.Outcome,
            ["history"] = i.History,
        })),
    };
    string path = Path.Combine(outDir, scenario.Name + ".json");
    await File.WriteAllTextAsync(path, file.ToString(Formatting.Indented) + "\n");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{scenario.Name}: {clock.Elapsed.TotalSeconds:0.0} s, {new FileInfo(path).Length / 1024.0:0.0} KB: {string.Join("; ", instances.Select(i => $"{i.InstanceId} {i.Outcome}, {i.History.Count} events, {i.Episodes} episodes"))}"));
}

return 0;
