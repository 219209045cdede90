using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DurableJobs.Engine.Emulator;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// A user's day in one folder, with the emulator the commands start themselves (not the suite's shared one): the
/// main command twice in a row, and a <c>serve</c> replaced by another. When the emulator was killed on exit it lost
/// its last seconds: the second run waited out ~25 s of restored leases, and batches reported Completed read Running
/// or TimedOut later.
/// </summary>
public sealed partial class EmbeddedEmulatorTests(ITestOutputHelper output) : IDisposable
{
    private const int Jobs = 60;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(4);

    private readonly string folder = Directory.CreateTempSubdirectory("durablejobs-user-day-").FullName;

    private readonly Dictionary<string, string> environment = new()
    {
        // Its own ports: the commands start (and must stop) their own emulator on this folder's .azurite.
        ["DurableJobs__Azurite__BlobPort"] = AzuriteProcess.FindFreePortRange().ToString(CultureInfo.InvariantCulture),
        ["DurableJobs__HubName"] = "UserDay",
    };

    [Fact]
    public async Task The_main_command_twice_in_one_folder_the_second_batch_as_fast_as_the_first_and_both_still_Completed_afterwards()
    {
        string file = Path.Combine(folder, "batch.json");
        await File.WriteAllTextAsync(file, BatchApi.Batch("ignored", 10, Jobs, "delay", """{"ms":200}""").Replace("\"batchId\":\"ignored\",", string.Empty, StringComparison.Ordinal));

        (string First, double FirstSeconds, TimeSpan FirstProcess) = await RunAsync(file);
        (string Second, double SecondSeconds, TimeSpan SecondProcess) = await RunAsync(file);
        Figures.Report(output, nameof(EmbeddedEmulatorTests), $"run 1: batch {FirstSeconds:0.0} s, process {FirstProcess.TotalSeconds:0.0} s; run 2: batch {SecondSeconds:0.0} s, process {SecondProcess.TotalSeconds:0.0} s");
        Assert.True(SecondSeconds <= 2 * FirstSeconds + 2, $"the second run's batch took {SecondSeconds:0.0} s against {FirstSeconds:0.0} s for the first");
        Assert.True(SecondProcess <= 2 * FirstProcess + TimeSpan.FromSeconds(5), $"the second run took {SecondProcess.TotalSeconds:0.0} s against {FirstProcess.TotalSeconds:0.0} s for the first");

        // A later process on the same folder reads what run printed.
        await using HostProcess serve = await HostProcess.StartAsync("serve", [], environment, api: true, workingDirectory: folder);
        await AssertStillCompletedAsync(serve, First, Second);
        await StopAsync(serve);
    }

    [Fact]
    public async Task A_serve_replaced_by_another_on_the_same_folder_runs_its_first_batch_as_fast_and_keeps_the_earlier_batch()
    {
        double first, second;
        await using (HostProcess one = await HostProcess.StartAsync("serve-1", [], environment, api: true, workingDirectory: folder))
        {
            first = await SubmitAndTimeAsync(one, "before-restart");
            await StopAsync(one);
        }

        await using HostProcess two = await HostProcess.StartAsync("serve-2", [], environment, api: true, workingDirectory: folder);
        second = await SubmitAndTimeAsync(two, "after-restart");
        Figures.Report(output, nameof(EmbeddedEmulatorTests), $"serve handover: first batch {first:0.0} s, first batch of the next serve {second:0.0} s");
        Assert.True(second <= 2 * first + 2, $"the new serve's first batch took {second:0.0} s against {first:0.0} s before the restart");
        await AssertStillCompletedAsync(two, "before-restart", "after-restart");
        await StopAsync(two);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleanup.
        }
    }

    private async Task<(string BatchId, double BatchSeconds, TimeSpan Process)> RunAsync(string file)
    {
        var clock = Stopwatch.StartNew();
        (int exit, string text) = await HostProcess.RunToEndAsync(["run", file], environment, folder, CommandTimeout);
        clock.Stop();
        Match ended = EndedLine().Match(text);
        Assert.True(exit == 0 && ended.Success, $"run exited {exit}:{Environment.NewLine}{text}");
        Assert.Equal("Completed", ended.Groups["status"].Value);
        Assert.True(Directory.Exists(Path.Combine(folder, ".azurite")), "run did not start its own emulator on this folder");
        return (ended.Groups["id"].Value, double.Parse(ended.Groups["seconds"].Value, CultureInfo.InvariantCulture), clock.Elapsed);
    }

    private static async Task<double> SubmitAndTimeAsync(HostProcess serve, string batchId)
    {
        using var api = new BatchApi(serve.BaseAddress!);
        var clock = Stopwatch.StartNew();
        await api.SubmitAsync(BatchApi.Batch(batchId, 10, Jobs, "delay", """{"ms":200}"""));
        JsonElement view = await api.WaitFinishedAsync(batchId, CommandTimeout, () => serve.Tail());
        Assert.Equal("Completed", view.GetProperty("status").GetString());
        return clock.Elapsed.TotalSeconds;
    }

    private static async Task AssertStillCompletedAsync(HostProcess serve, params string[] batchIds)
    {
        // Anything an older, rolled-back state would resume (leases, orchestrations, deadline timers) has time to show.
        await Task.Delay(TimeSpan.FromSeconds(5));
        using var api = new BatchApi(serve.BaseAddress!);
        foreach (string id in batchIds)
        {
            JsonElement? view = await api.GetBatchAsync(id);
            Assert.True(view is not null, $"{id} is gone");
            Assert.True(view.Value.GetProperty("status").GetString() == "Completed", $"{id} reads {view}");
            Assert.Equal(Jobs, view.Value.GetProperty("succeeded").GetInt32());
        }
    }

    /// <summary>SIGTERM, as a user's Ctrl+C or a service manager stops it, and a wait for it to exit.</summary>
    private static async Task StopAsync(HostProcess serve)
    {
        serve.Terminate();
        Assert.True(await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"serve did not exit after SIGTERM:{Environment.NewLine}{serve.Tail()}");
    }

    [GeneratedRegex(@"Batch (?<id>\S+) ended (?<status>\w+) in (?<seconds>[\d.]+) s")]
    private static partial Regex EndedLine();
}
