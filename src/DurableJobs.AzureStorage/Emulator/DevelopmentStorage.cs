namespace DurableJobs.Engine.Emulator;

/// <summary>The well-known Azurite account and the connection strings that point at it.</summary>
internal static class DevelopmentStorage
{
    /// <summary>Azurite's account name.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's documented, public account key (not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The shorthand connection string for the local emulator.</summary>
    public const string Shorthand = "UseDevelopmentStorage=true";

    /// <summary>True for the <c>UseDevelopmentStorage=true</c> shorthand.</summary>
    public static bool IsShorthand(string connectionString) =>
        connectionString.Replace(" ", string.Empty, StringComparison.Ordinal)
            .TrimEnd(';')
            .Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    /// <summary>An explicit connection string for Azurite listening on 127.0.0.1 from <paramref name="blobPort"/>.</summary>
    public static string ConnectionString(int blobPort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{blobPort + 1}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{blobPort + 2}/{AccountName};";
}
