using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using DurableJobs.Api.Http;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using Microsoft.AspNetCore.Http;

namespace DurableJobs.Api.Parsing;

/// <summary>
/// Turns bytes from an HTTP body or a queue message into a <see cref="BatchRequest"/>, telling apart invalid
/// UTF-8, malformed JSON, excessive nesting and values of the wrong type, each with its own problem.
/// </summary>
internal static class BatchRequestParser
{
    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Parses <paramref name="utf8"/>.</summary>
    public static BatchRequestParseResult Parse(ReadOnlyMemory<byte> utf8)
    {
        (BatchRequest? request, ApiError? error) = ParseAs<BatchRequest>(utf8, "a JSON object describing a batch");
        return new BatchRequestParseResult(request, error);
    }

    /// <summary>
    /// Parses <paramref name="utf8"/> as a <typeparamref name="T"/>, with the same problems as a batch request;
    /// <paramref name="shape"/> says what the body should be (<c>a JSON object describing a batch</c>).
    /// </summary>
    internal static (T? Value, ApiError? Error) ParseAs<T>(ReadOnlyMemory<byte> utf8, string shape)
    {
        if (utf8.Span.StartsWith(Utf8Bom))
        {
            utf8 = utf8[Utf8Bom.Length..];
        }

        if (!Utf8.IsValid(utf8.Span))
        {
            return (default, Problem(ApiErrorCodes.InvalidUtf8, "The request body is not valid UTF-8.", "JSON must be encoded in UTF-8."));
        }

        if (utf8.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return (default, Problem(ApiErrorCodes.EmptyBody, "The request body is empty.", $"Send {shape}."));
        }

        if (CheckSyntax(utf8.Span) is { } syntaxError)
        {
            return (default, syntaxError);
        }

        try
        {
            return (JsonSerializer.Deserialize<T>(utf8.Span, DurableJobsJson.Options), null);
        }
        catch (JsonException ex)
        {
            // Syntax and depth were checked above, so what is left is a value of the wrong type.
            string path = FieldPath(ex.Path);
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                [path] = [$"Has the wrong JSON type: {ex.Message.Split(" Path:", 2)[0]}"],
            };
            return (default, new ApiError(
                StatusCodes.Status400BadRequest, ApiErrorCodes.WrongJsonType, "The request body has a value of the wrong JSON type.",
                path.Length == 0 ? $"The body must be {shape}." : $"'{path}' has the wrong JSON type.", errors));
        }
    }

    /// <summary>A JSON path such as <c>$.jobs[0].type</c> as a field path (<c>jobs[0].type</c>).</summary>
    internal static string FieldPath(string? jsonPath) =>
        jsonPath is null or "$" ? string.Empty : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');

    private static ApiError? CheckSyntax(ReadOnlySpan<byte> utf8)
    {
        int maxDepth = DurableJobsJson.Options.MaxDepth;

        // The reader's own depth limit is set high so depth can be reported as its own problem, not as malformed JSON.
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = int.MaxValue, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth >= maxDepth)
                {
                    return new ApiError(
                        StatusCodes.Status400BadRequest, ApiErrorCodes.TooDeep, "The request body nests too deeply.",
                        string.Create(CultureInfo.InvariantCulture, $"JSON may nest at most {maxDepth} levels deep."));
                }
            }

            return null;
        }
        catch (JsonException ex)
        {
            return new ApiError(
                StatusCodes.Status400BadRequest, ApiErrorCodes.MalformedJson, "The request body is not valid JSON.",
                string.Create(CultureInfo.InvariantCulture, $"{ex.Message.Split(" LineNumber:", 2)[0].TrimEnd(' ', '|')} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})."));
        }
    }

    private static ApiError Problem(string code, string title, string detail) =>
        new(StatusCodes.Status400BadRequest, code, title, detail);
}
