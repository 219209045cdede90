namespace DurableJobs.Core.Handlers;

/// <summary>
/// Thrown by a handler when a downstream said "too many" (HTTP 429 or 503 with <c>Retry-After</c>, a database's
/// throttling error): the job waits <see cref="RetryAfter"/> on its stop token and runs again without it counting as a
/// failed attempt, and each named limit the job holds cuts its effective concurrency across the cluster.
/// </summary>
public sealed class JobThrottledException : Exception
{
    /// <summary>The longest wait a handler may ask for.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>Creates the exception.</summary>
    /// <param name="retryAfter">How long to wait before the job runs again: 0 to <see cref="MaxRetryAfter"/>.</param>
    /// <param name="message">What the downstream said; a default names the wait.</param>
    /// <param name="innerException">The downstream's error, if any.</param>
    public JobThrottledException(TimeSpan retryAfter, string? message = null, Exception? innerException = null)
        : base(message ?? $"The downstream is throttling; retry after {retryAfter.TotalSeconds:0.###} s.", innerException)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(retryAfter, MaxRetryAfter);
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception with no wait.</summary>
    public JobThrottledException()
        : this(TimeSpan.Zero)
    {
    }

    /// <summary>Creates the exception with no wait.</summary>
    public JobThrottledException(string message)
        : this(TimeSpan.Zero, message)
    {
    }

    /// <summary>Creates the exception with no wait and a cause.</summary>
    public JobThrottledException(string message, Exception innerException)
        : this(TimeSpan.Zero, message, innerException)
    {
    }

    /// <summary>How long the job waits before it runs again.</summary>
    public TimeSpan RetryAfter { get; }
}
