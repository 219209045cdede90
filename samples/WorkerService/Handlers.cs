using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using DurableJobs.Core.Handlers;

namespace DurableJobs.Samples.WorkerService;

/// <summary>The typed payload of <c>word-count</c>: bound and validated before the handler runs.</summary>
public sealed record WordCountPayload([property: Required, MaxLength(100_000)] string Text, int Top = 3);

/// <summary>What <c>word-count</c> returns (serialised to the job's output).</summary>
public sealed record WordCountResult(int Words, IReadOnlyList<string> MostFrequent);

/// <summary><c>word-count</c>: a typed handler.</summary>
public sealed class WordCountHandler : IJobHandler<WordCountPayload, WordCountResult>
{
    public ValueTask<WordCountResult> ExecuteAsync(JobContext context, WordCountPayload payload, CancellationToken cancellationToken)
    {
        string[] words = payload.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        string[] top = words.GroupBy(w => w.ToLowerInvariant()).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(payload.Top).Select(g => g.Key).ToArray();
        return ValueTask.FromResult(new WordCountResult(words.Length, top));
    }
}

/// <summary>A service of the app, injected into a handler.</summary>
public interface IGreetingStyle
{
    string Greet(string name);
}

public sealed class PoliteGreetingStyle : IGreetingStyle
{
    public string Greet(string name) => $"Good day, {name}.";
}

/// <summary><c>greet</c>: an untyped handler whose constructor takes the app's services, created per attempt.</summary>
public sealed class GreetingHandler(IGreetingStyle style, ILogger<GreetingHandler> logger) : IJobHandler
{
    public async ValueTask<JsonElement?> ExecuteAsync(JobContext context, JsonElement payload, CancellationToken cancellationToken)
    {
        string name = payload.TryGetProperty("name", out JsonElement value) && value.GetString() is { Length: > 0 } n
            ? n
            : throw new JobPayloadException("Payload field 'name' is required.");
        await Task.Delay(50, cancellationToken); // stands for real work; always on the job's token
        logger.LogInformation("Greeting {Name} for {Key}", name, context.IdempotencyKey);
        return JsonSerializer.SerializeToElement(new { greeting = style.Greet(name) });
    }
}
