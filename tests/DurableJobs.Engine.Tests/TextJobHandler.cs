using System.Text;
using System.Text.Json;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Engine.Tests;

/// <summary>
/// <c>text</c>: returns <c>{"text": payload.text}</c> parsed from plain UTF-8, as a handler that returns a document it
/// received (a web response, say) does. Its raw text holds the characters as they are, not the \uXXXX escapes that
/// anything written by the serializer has, so it is as short as an output can look before it is stored.
/// </summary>
public sealed class TextJobHandler : IJobHandler
{
    public ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        string text = payload.GetProperty("text").GetString()!;
        using JsonDocument output = JsonDocument.Parse(Encoding.UTF8.GetBytes($"{{\"text\":\"{text}\"}}"));
        return ValueTask.FromResult<JsonElement?>(output.RootElement.Clone());
    }
}
