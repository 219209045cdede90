using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>Why a job did not succeed.</summary>
/// <param name="Type">The error kind, usually the exception type name.</param>
/// <param name="Message">A human-readable message.</param>
public sealed record JobError(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("message")] string Message)
{
    /// <summary>Builds an error from an exception.</summary>
    public static JobError FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new JobError(exception.GetType().Name, exception.Message);
    }
}
