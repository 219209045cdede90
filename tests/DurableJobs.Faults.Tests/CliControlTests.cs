using System.Diagnostics;
using System.Text.Json;

namespace DurableJobs.Faults.Tests;

/// <summary>
/// The CLI's batch controls (<c>durablejobs pause|resume|cap|rerun|delete</c>) as a user runs them: real processes against an
/// API process and a worker process on one hub.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CliControlTests(EmulatorFixture storage, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Pause_resume_cap_and_rerun_from_the_command_line_act_on_the_batch_and_exit_0_or_name_the_refusal()
    {
        await using var cluster = new Cluster(storage.ConnectionString, "FaultsCliControls", output);
        try
        {
            await cluster.StartWorkerAsync();
            HostProcess api = await cluster.StartApiAsync();
            using var client = new BatchApi(api.BaseAddress!);
            string url = api.BaseAddress!.ToString().TrimEnd('/');

            await client.SubmitAsync(BatchApi.Batch("cli-ctl", 1, 12, "delay", """{"ms":500}"""));
            (int code, string text) = await CliAsync("pause", "cli-ctl", "--url", url);
            Assert.True(code == 0, text);
            await WaitForStatusAsync(client, "cli-ctl", "Paused");

            (code, text) = await CliAsync("cap", "cli-ctl", "4", "--url", url);
            Assert.True(code == 0, text);
            (code, text) = await CliAsync("resume", "cli-ctl", "--url", url);
            Assert.True(code == 0, text);
            JsonElement done = await client.WaitFinishedAsync("cli-ctl", Patience);
            Assert.Equal(("Completed", 4), (done.GetProperty("status").GetString(), done.GetProperty("maxParallel").GetInt32()));

            // Refusals come back as the API's problem: a non-zero exit naming it.
            (code, text) = await CliAsync("pause", "cli-ctl", "--url", url);
            output.WriteLine(text);
            Assert.NotEqual(0, code);
            Assert.Contains("already finished", text, StringComparison.OrdinalIgnoreCase);

            await client.SubmitAsync(BatchApi.Batch("cli-rerun", 2, 4, "fail", """{"message":"nope"}"""));
            await client.WaitFinishedAsync("cli-rerun", Patience);
            (code, text) = await CliAsync("rerun", "cli-rerun", "--status", "Failed", "--max-parallel", "1", "--url", url);
            Assert.True(code == 0, text);
            Assert.Contains("cli-rerun.r1", text, StringComparison.Ordinal);
            JsonElement rerun = await client.WaitFinishedAsync("cli-rerun.r1", Patience);
            Assert.Equal((4, 4, 1), (rerun.GetProperty("total").GetInt32(), rerun.GetProperty("failed").GetInt32(), rerun.GetProperty("maxParallel").GetInt32()));

            // Delete takes the batch and its re-run; a second delete names the batch as unknown.
            (code, text) = await CliAsync("delete", "cli-rerun", "--url", url);
            Assert.True(code == 0, text);
            Assert.Contains("deleted", text, StringComparison.Ordinal);
            Assert.Null(await client.GetBatchAsync("cli-rerun"));
            Assert.Null(await client.GetBatchAsync("cli-rerun.r1"));
            (code, text) = await CliAsync("delete", "cli-rerun", "--url", url);
            Assert.NotEqual(0, code);
            Assert.Contains("No batch has the id", text, StringComparison.Ordinal);
        }
        catch
        {
            cluster.DumpTails();
            throw;
        }
    }

    private static async Task WaitForStatusAsync(BatchApi client, string id, string status)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.GetBatchAsync(id))?.GetProperty("status").GetString() != status)
        {
            Assert.True(clock.Elapsed < Patience, $"{id} never reached {status}");
            await Task.Delay(100);
        }
    }

    private static async Task<(int Code, string Output)> CliAsync(params string[] arguments)
    {
        string folder = Directory.CreateTempSubdirectory("durablejobs-cli-").FullName;
        try
        {
            using Process process = Process.Start(HostProcess.StartInfo(folder, arguments, new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" }))!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return (process.ExitCode, await stdout + await stderr);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
