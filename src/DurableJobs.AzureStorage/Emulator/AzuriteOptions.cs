namespace DurableJobs.Engine.Emulator;

/// <summary>How the local Azurite emulator is started.</summary>
public sealed class AzuriteOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Azurite";

    /// <summary>Start Azurite when the connection is development storage and nothing answers.</summary>
    public bool AutoStart { get; set; } = true;

    /// <summary>The folder holding the npm manifest that pins Azurite. Null: searched upward from the working and app folders.</summary>
    public string? ToolsDirectory { get; set; }

    /// <summary>Where Azurite keeps its data (disk mode: batches survive a restart).</summary>
    public string DataDirectory { get; set; } = ".azurite";

    /// <summary>Blob port; queue and table use the next two.</summary>
    public int BlobPort { get; set; } = 10000;

    /// <summary>How long to wait for Azurite to answer.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Run npm to install the pinned Azurite when it is missing.</summary>
    public bool InstallIfMissing { get; set; } = true;
}
