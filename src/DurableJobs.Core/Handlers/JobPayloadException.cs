namespace DurableJobs.Core.Handlers;

/// <summary>A job's payload does not fit its handler. Retrying does not help.</summary>
public sealed class JobPayloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobPayloadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public JobPayloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public JobPayloadException()
    {
    }
}
