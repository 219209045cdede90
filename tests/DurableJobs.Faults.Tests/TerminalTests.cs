using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DurableJobs.Engine.Emulator;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// <c>durablejobs run</c> in a real terminal (a pseudo-terminal), with Ctrl+C typed as a user types it. Tried in tmux,
/// the first Ctrl+C printed "Stopping the engine…" instead of cancelling, died with exit 134 and left the batch
/// Running; and warnings about other batches of the folder printed over the progress view.
/// </summary>
public sealed class TerminalTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private readonly string folder = Directory.CreateTempSubdirectory("durablejobs-terminal-").FullName;

    private readonly Dictionary<string, string> environment = new()
    {
        // Its own ports and folder: the commands start (and stop) their own emulator on this folder's .azurite.
        ["DurableJobs__Azurite__BlobPort"] = AzuriteProcess.FindFreePortRange().ToString(CultureInfo.InvariantCulture),
        ["DurableJobs__HubName"] = "Terminal",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
    };

    [Fact]
    public async Task Ctrl_C_in_a_terminal_cancels_the_batch_of_20_jobs_at_cap_4_shows_the_20_cancelled_and_exits_130()
    {
        const string batchId = "terminal-ctrl-c";
        string file = await WriteBatchAsync(batchId, jobs: 20, cap: 4, jobMs: 20_000);

        await using (TerminalSession run = TerminalSession.Start(["run", file], environment, folder))
        {
            Assert.True(await run.WaitForAsync("4 running", Patience), $"the batch never ran 4 jobs:{Environment.NewLine}{run.Tail()}");
            run.PressCtrlC();
            var clock = Stopwatch.StartNew();
            bool exited = await run.WaitForExitAsync(TimeSpan.FromSeconds(90));
            output.WriteLine(run.Tail(60));
            Assert.True(exited, "run did not end within 90 s of Ctrl+C");
            string screen = run.Screen;
            Figures.Report(output, nameof(TerminalTests), $"Ctrl+C with 4 of 20 jobs (20 s each) running: run ended {clock.Elapsed.TotalSeconds:0.0} s later with exit code {run.ExitCode}");

            Assert.Contains("━", run.Raw, StringComparison.Ordinal); // the interactive progress view, not the plain lines
            Assert.Contains("cancelling the batch", screen, StringComparison.Ordinal);
            Assert.Contains($"Batch {batchId} ended Cancelled", screen, StringComparison.Ordinal);
            Assert.Matches(@"│ Cancelled\s*│\s*20 │", screen);
            Assert.DoesNotContain("Unhandled exception", screen, StringComparison.Ordinal);
            Assert.Equal(130, run.ExitCode);
        }

        // What run showed is what storage keeps: the batch is Cancelled, its running jobs saw their token.
        await using HostProcess serve = await HostProcess.StartAsync("serve", [], environment, api: true, workingDirectory: folder);
        using var api = new BatchApi(serve.BaseAddress!);
        JsonElement view = (await api.GetBatchAsync(batchId))!.Value;
        List<JobRecord> jobs = await api.GetJobsAsync(batchId);
        Assert.Equal("Cancelled", view.GetProperty("status").GetString());
        Assert.Equal(20, jobs.Count(j => j.Status == "Cancelled"));
        Assert.Equal(4, jobs.Count(j => j.Attempts == 1));
        serve.Terminate();
        Assert.True(await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)), "serve did not exit after SIGTERM");
    }

    [Fact]
    public async Task Run_in_a_terminal_shows_only_its_own_batch_not_the_warnings_of_another_it_runs_and_a_second_Ctrl_C_quits_at_once_with_130()
    {
        const string mine = "terminal-mine", other = "terminal-other";
        string file = await WriteBatchAsync(mine, jobs: 8, cap: 4, jobMs: 60_000);

        // Another batch of the folder's task hub, waiting for a worker: run's engine runs it too, and it times out
        // (a warning in the engine's log) while run shows its own batch. An API-only serve owns the emulator and
        // tells the test when that happened.
        await using HostProcess serve = await HostProcess.StartAsync("serve", ["--api-only"], environment, api: true, workingDirectory: folder);
        using var api = new BatchApi(serve.BaseAddress!);
        await api.SubmitAsync(BatchApi.Batch(other, 4, 4, "delay", """{"ms":60000}""", deadlineSeconds: 8));

        await using TerminalSession run = TerminalSession.Start(["run", file], environment, folder);
        JsonElement otherView = await api.WaitFinishedAsync(other, Patience, () => run.Tail());
        Assert.Equal("TimedOut", otherView.GetProperty("status").GetString());
        Assert.True(await run.WaitForAsync("4 running", Patience), $"the batch never ran 4 jobs:{Environment.NewLine}{run.Tail()}");

        run.PressCtrlC();
        Assert.True(await run.WaitForAsync("cancelling the batch", TimeSpan.FromSeconds(30)), $"no 'cancelling the batch' after Ctrl+C:{Environment.NewLine}{run.Tail()}");
        run.PressCtrlC();
        var clock = Stopwatch.StartNew();
        bool exited = await run.WaitForExitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(run.Tail(60));
        Figures.Report(output, nameof(TerminalTests), $"second Ctrl+C: run {(exited ? $"exited {clock.Elapsed.TotalSeconds:0.0} s later with {run.ExitCode}" : "still running after 30 s")}; lines naming the other batch: {run.Screen.Split('\n').Count(l => l.Contains(other, StringComparison.Ordinal))}");

        Assert.True(exited, "a second Ctrl+C did not end run within 30 s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"run took {clock.Elapsed.TotalSeconds:0.0} s to quit after the second Ctrl+C");
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("━", run.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(other, run.Screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_while_the_engine_starts_ends_run_with_130_and_submits_nothing()
    {
        string file = await WriteBatchAsync("terminal-early", jobs: 4, cap: 4, jobMs: 1_000);

        await using (TerminalSession run = TerminalSession.Start(["run", file], environment, folder))
        {
            Assert.True(await run.WaitForAsync("Starting the engine", Patience), $"run never started the engine:{Environment.NewLine}{run.Tail()}");
            run.PressCtrlC();
            bool exited = await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
            output.WriteLine(run.Tail(60));
            Assert.True(exited, "run did not end within 60 s of Ctrl+C");
            Figures.Report(output, nameof(TerminalTests), $"Ctrl+C while the engine started: exit code {run.ExitCode}");
            Assert.DoesNotContain("Unhandled exception", run.Screen, StringComparison.Ordinal);
            Assert.Contains("nothing was submitted", run.Screen, StringComparison.Ordinal);
            Assert.Equal(130, run.ExitCode);
        }

        await using HostProcess serve = await HostProcess.StartAsync("serve", [], environment, api: true, workingDirectory: folder);
        using var api = new BatchApi(serve.BaseAddress!);
        Assert.Empty(await api.ListIdsAsync());
        serve.Terminate();
        Assert.True(await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)), "serve did not exit after SIGTERM");
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

    private async Task<string> WriteBatchAsync(string batchId, int jobs, int cap, int jobMs)
    {
        string file = Path.Combine(folder, batchId + ".json");
        await File.WriteAllTextAsync(file, BatchApi.Batch(batchId, cap, jobs, "delay", $$"""{"ms":{{jobMs}}}"""));
        return file;
    }
}
