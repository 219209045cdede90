using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Core.Handlers;

/// <summary>
/// Binds a typed handler's payload: strict JSON (an unknown or mistyped field is an error, not a silent default, so a
/// typo in a request fails the job instead of running it with other values), then data-annotation validation. Every
/// failure is a <see cref="JobPayloadException"/> that names the field: the job fails at once, since retrying cannot fix it.
/// </summary>
internal static class JobPayloadBinder
{
    /// <summary>The product's JSON settings, refusing unknown members and honouring nullable and required annotations.</summary>
    private static readonly JsonSerializerOptions Strict = CreateStrict();

    public static TPayload Bind<TPayload>(JsonElement payload)
    {
        TPayload? value;
        try
        {
            value = payload.Deserialize<TPayload>(Strict);
        }
        catch (JsonException ex)
        {
            string field = FieldOf(ex.Path);
            string message = $"Payload field '{field}' does not fit {typeof(TPayload).Name}: {FirstSentence(ex.Message)}";
            throw field == WholePayload ? new JobPayloadException(message, ex) : new JobPayloadException(field, message, ex);
        }

        if (value is null)
        {
            // A Nullable<T> payload may be absent; for any other type a missing payload is a malformed job.
            return Nullable.GetUnderlyingType(typeof(TPayload)) is not null
                ? value!
                : throw new JobPayloadException($"Payload is required: a {typeof(TPayload).Name}.");
        }

        var problems = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), problems, validateAllProperties: true))
        {
            ValidationResult first = problems[0];
            string? field = first.MemberNames.FirstOrDefault() is { } member ? JsonNamingPolicy.CamelCase.ConvertName(member) : null;
            throw field is null
                ? new JobPayloadException($"Payload is not valid: {first.ErrorMessage}")
                : new JobPayloadException(field, $"Payload field '{field}' is not valid: {first.ErrorMessage}");
        }

        return value;
    }

    /// <summary>How a message names the payload as a whole.</summary>
    private const string WholePayload = "(payload)";

    private static string FieldOf(string? path) =>
        path is null or "$" ? WholePayload : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    // System.Text.Json appends "Path: ... | LineNumber: ..." to its messages; the field is already named.
    private static string FirstSentence(string message) =>
        message.IndexOf(" Path:", StringComparison.Ordinal) is int at and > 0 ? message[..at] : message;

    private static JsonSerializerOptions CreateStrict()
    {
        var options = new JsonSerializerOptions(DurableJobsJson.Options)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
        };
        options.MakeReadOnly();
        return options;
    }
}
