using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>Exponential back-off retry policy for each job of a batch.</summary>
public sealed record RetrySpec
{
    /// <summary>Total attempts, the first one included. 1 means no retry.</summary>
    [JsonPropertyName("maxAttempts")]
    public int MaxAttempts { get; init; } = 1;

    /// <summary>Delay before the second attempt, in seconds.</summary>
    [JsonPropertyName("firstRetryDelaySeconds")]
    public double FirstRetryDelaySeconds { get; init; } = 1;

    /// <summary>Factor applied to the delay after each retry.</summary>
    [JsonPropertyName("backoffCoefficient")]
    public double BackoffCoefficient { get; init; } = 2;

    /// <summary>Upper bound of any single retry delay, in seconds.</summary>
    [JsonPropertyName("maxRetryDelaySeconds")]
    public double MaxRetryDelaySeconds { get; init; } = 60;

    /// <summary>A policy of a single attempt.</summary>
    public static RetrySpec None { get; } = new();

    /// <summary>The delay before attempt <paramref name="nextAttempt"/> (2 or more).</summary>
    /// <param name="nextAttempt">The attempt about to run, 1-based.</param>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nextAttempt, 2);
        double seconds = FirstRetryDelaySeconds * Math.Pow(BackoffCoefficient, nextAttempt - 2);
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxRetryDelaySeconds));
    }
}
