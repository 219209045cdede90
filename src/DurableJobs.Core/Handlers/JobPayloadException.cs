namespace DurableJobs.Core.Handlers;

/// <summary>A job's payload does not fit its handler. Retrying does not help.</summary>
public sealed class JobPayloadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobPayloadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception about one field of the payload.</summary>
    /// <param name="field">The payload field at fault (<c>iterations</c>); submission reports it as <c>jobs[3].payload.iterations</c>.</param>
    /// <param name="message">What is wrong.</param>
    public JobPayloadException(string field, string message)
        : base(message)
    {
        Field = field;
    }

    /// <summary>Creates the exception about one field of the payload, with the cause.</summary>
    public JobPayloadException(string field, string message, Exception innerException)
        : base(message, innerException)
    {
        Field = field;
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

    /// <summary>The payload field at fault, when the problem is one field's.</summary>
    public string? Field { get; }
}
