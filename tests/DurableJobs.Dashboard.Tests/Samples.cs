using System.Text.Json.Nodes;

namespace DurableJobs.Dashboard.Tests;

/// <summary>The batch files shipped in <c>samples/</c>, and batches built for one test.</summary>
public static class Samples
{
    /// <summary>A shipped sample under a batch id of the test's own.</summary>
    public static JsonObject Load(string name, string batchId)
    {
        JsonObject batch = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", name)))!.AsObject();
        batch["batchId"] = batchId;
        return batch;
    }

    /// <summary><paramref name="count"/> delay jobs of <paramref name="ms"/> each under a cap.</summary>
    public static JsonObject Delays(string batchId, int count, int ms, int maxParallel, int deadlineSeconds = 600)
    {
        var jobs = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            jobs.Add(new JsonObject { ["id"] = $"job-{i:000}", ["type"] = "delay", ["payload"] = new JsonObject { ["ms"] = ms } });
        }

        return new JsonObject { ["batchId"] = batchId, ["maxParallel"] = maxParallel, ["deadlineSeconds"] = deadlineSeconds, ["jobs"] = jobs };
    }

    /// <summary>A batch id no earlier run of the tests used (the emulator may keep data between runs).</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DurableJobs.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No DurableJobs.sln above {AppContext.BaseDirectory}.");
    }
}
