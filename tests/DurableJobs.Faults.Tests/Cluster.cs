namespace DurableJobs.Faults.Tests;

/// <summary>
/// The processes of one test on one task hub: workers (<c>serve --worker-only</c>) and API processes
/// (<c>serve --api-only</c>), all configured through environment variables with fast polling and fast leases, so a
/// dead worker's partitions move in seconds, unless the test asks for the engine's own defaults
/// (<see cref="PinnedTimings"/>). Disposing kills whatever still runs.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    private readonly List<HostProcess> processes = [];
    private readonly string connectionString;
    private readonly ITestOutputHelper? output;
    private readonly bool engineDefaults;

    /// <summary>
    /// The settings the suite normally pins (idle polling, partition leases, queue visibility timeouts); a cluster
    /// started with <c>engineDefaults</c> leaves them out, so its processes run what a user gets without configuring them.
    /// </summary>
    public static readonly IReadOnlyList<string> PinnedTimings =
    [
        "DurableJobs__MaxQueuePollingInterval",
        "DurableJobs__LeaseInterval",
        "DurableJobs__LeaseRenewInterval",
        "DurableJobs__LeaseAcquireInterval",
        "DurableJobs__WorkItemQueueVisibilityTimeout",
        "DurableJobs__ControlQueueVisibilityTimeout",
    ];

    public Cluster(string connectionString, string hubName, ITestOutputHelper? output, IReadOnlyDictionary<string, string>? settings = null, bool engineDefaults = false)
    {
        this.connectionString = connectionString;
        this.output = output;
        this.engineDefaults = engineDefaults;
        HubName = hubName;
        Settings = settings ?? new Dictionary<string, string>();
    }

    public string HubName { get; }

    /// <summary>Settings every process of this cluster gets on top of the defaults.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    public IReadOnlyList<HostProcess> Processes => processes;

    public IEnumerable<HostProcess> Workers => processes.Where(p => p.Name.StartsWith("worker", StringComparison.Ordinal));

    public Task<HostProcess> StartWorkerAsync(IReadOnlyDictionary<string, string>? settings = null) =>
        StartAsync($"worker-{Workers.Count() + 1}", ["--worker-only"], settings, api: false);

    public Task<HostProcess> StartApiAsync(IReadOnlyDictionary<string, string>? settings = null) =>
        StartAsync("api", ["--api-only"], settings, api: true);

    public async ValueTask DisposeAsync()
    {
        foreach (HostProcess process in processes)
        {
            await process.DisposeAsync();
        }
    }

    /// <summary>Writes the processes' last lines to the test output (on failure, to see why).</summary>
    public void DumpTails(int lines = 40)
    {
        foreach (HostProcess process in processes)
        {
            output?.WriteLine(process.Tail(lines));
        }
    }

    private async Task<HostProcess> StartAsync(string name, string[] arguments, IReadOnlyDictionary<string, string>? settings, bool api)
    {
        var environment = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = connectionString,
            ["DurableJobs__HubName"] = HubName,
            ["DurableJobs__PartitionCount"] = "4",
            ["DurableJobs__MaxQueuePollingInterval"] = "00:00:00.5",
            ["DurableJobs__LeaseInterval"] = "00:00:06",
            ["DurableJobs__LeaseRenewInterval"] = "00:00:02",
            ["DurableJobs__LeaseAcquireInterval"] = "00:00:02",
            ["DurableJobs__WorkItemQueueVisibilityTimeout"] = "00:00:15",
            ["DurableJobs__ControlQueueVisibilityTimeout"] = "00:00:15",
            ["DurableJobs__Azurite__AutoStart"] = "false",
            ["DurableJobs__BatchQueueName"] = HubName.ToLowerInvariant() + "-batches",
            ["DurableJobs__Queue__Enabled"] = "false",
            ["DurableJobs__Queue__MaxPollingInterval"] = "00:00:00.5",
            ["Logging__LogLevel__Default"] = "Warning",

            // Debug for our own categories: the job runner logs a line per attempt, which is how the suite counts
            // executions in processes it cannot reach into.
            ["Logging__LogLevel__DurableJobs"] = "Debug",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["NO_COLOR"] = "1",
        };
        if (engineDefaults)
        {
            foreach (string key in PinnedTimings)
            {
                environment.Remove(key);
            }
        }

        foreach ((string key, string value) in Settings)
        {
            environment[key] = value;
        }

        foreach ((string key, string value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        HostProcess process = await HostProcess.StartAsync(name, arguments, environment, api);
        processes.Add(process);
        output?.WriteLine($"started {name} (pid {process.Pid}) on hub {HubName}");
        return process;
    }
}
