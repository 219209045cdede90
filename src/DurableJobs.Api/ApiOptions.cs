namespace DurableJobs.Api;

/// <summary>HTTP API settings, bound from <c>DurableJobs:Api</c> by both hosts.</summary>
public sealed class ApiOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableJobs:Api";

    /// <summary>The path prefix of every route (Functions' <c>extensions.http.routePrefix</c>).</summary>
    public const string RoutePrefix = "api";

    /// <summary>Largest accepted request body, in bytes; larger ones are refused with 413 before they are buffered.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest <c>top</c> a list or page request may ask for.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Jobs per page when <c>top</c> is omitted.</summary>
    public int DefaultJobsPageSize { get; set; } = 100;

    /// <summary>Batches listed when <c>top</c> is omitted.</summary>
    public int DefaultListSize { get; set; } = 50;

    /// <summary>Points in a batch timeline when <c>points</c> is omitted.</summary>
    public int DefaultTimelinePoints { get; set; } = 200;

    /// <summary>Largest <c>points</c> a timeline request may ask for.</summary>
    public int MaxTimelinePoints { get; set; } = 2000;

    /// <summary>How long the health probe may wait for storage.</summary>
    public TimeSpan HealthProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
