using DurableJobs.Engine.Emulator;
using Microsoft.Extensions.Logging.Abstractions;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// Issue 12: an app built on the packages, or the <c>durablejobs</c> .NET tool, runs outside the repository, where no
/// npm manifest pins Azurite; it used to stop with "no npm manifest pinning it was found". In the emulator collection
/// though it needs no shared emulator: its npm install is heavy, and the collection's timing tests must not share the
/// two cores with it.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class AzuriteInstallTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("durablejobs-cache-").FullName;

    [Fact]
    public async Task Outside_the_repository_the_pinned_Azurite_is_installed_into_a_per_user_folder_and_starts()
    {
        string tools = AzuriteProcess.UserCacheDirectory(root);
        string repository = RepositoryRoot();
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(repository, "package-lock.json")), await File.ReadAllTextAsync(Path.Combine(tools, "package-lock.json")));
        Assert.EndsWith("azurite-3.37.0", tools, StringComparison.Ordinal);

        string data = Path.Combine(root, "data");
        await using AzuriteProcess azurite = await AzuriteProcess.StartAsync(
            new AzuriteOptions { ToolsDirectory = tools, BlobPort = AzuriteProcess.FindFreePortRange(), DataDirectory = data, StartTimeout = TimeSpan.FromSeconds(90) },
            NullLogger.Instance);
        Assert.True(azurite.IsRunning);
        Assert.True(File.Exists(Path.Combine(tools, "node_modules", "azurite", "package.json")));
        Assert.True(await azurite.StopAsync(TimeSpan.FromSeconds(15)), "Azurite did not save and stop within 15 s of SIGTERM");

        // A second call reuses the folder as it is.
        DateTime installed = Directory.GetLastWriteTimeUtc(Path.Combine(tools, "node_modules"));
        Assert.Equal(tools, AzuriteProcess.UserCacheDirectory(root));
        Assert.Equal(installed, Directory.GetLastWriteTimeUtc(Path.Combine(tools, "node_modules")));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS's temp cleanup.
        }
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

        throw new InvalidOperationException("Not inside the repository.");
    }
}
