namespace DurableJobs.Core.Handlers;

/// <summary>Thrown by the <c>fail</c> handler.</summary>
internal sealed class JobFailedOnPurposeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobFailedOnPurposeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public JobFailedOnPurposeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public JobFailedOnPurposeException()
    {
    }
}
