using Microsoft.Extensions.Configuration;

namespace DurableJobs.Api.Queue;

/// <summary>The queue batches arrive on, named by the same setting in both hosts.</summary>
internal static class BatchQueueNames
{
    /// <summary>The setting naming the queue (the Functions trigger reads it as <c>%DurableJobs:BatchQueueName%</c>).</summary>
    public const string SettingName = "DurableJobs:BatchQueueName";

    /// <summary>The queue when the setting is absent.</summary>
    public const string Default = "job-batches";

    /// <summary>The configured queue name.</summary>
    public static string From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration[SettingName] is { Length: > 0 } name ? name : Default;
    }

    /// <summary>Where messages that cannot be processed go: the queue's name with <c>-poison</c>, as Functions names it.</summary>
    public static string PoisonOf(string queueName)
    {
        ArgumentException.ThrowIfNullOrEmpty(queueName);
        return queueName + "-poison";
    }
}
