using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Hooks;

/// <summary>The checks of a request's <c>onComplete</c> and <c>next</c>, keyed by field path like the rest of a batch's.</summary>
internal static class HookValidation
{
    /// <summary>Adds what is wrong with <paramref name="request"/>'s hooks to <paramref name="problems"/>; <paramref name="validateBatch"/> checks a next batch.</summary>
    public static void Validate(BatchRequest request, HookOptions options, BatchLimits limits, Func<BatchRequest, ValidationResult> validateBatch, List<ValidationProblem> problems)
    {
        if (request.OnComplete is { } hook)
        {
            ValidateOnComplete(hook, options, problems);
        }

        if (request.Next is not { } next)
        {
            return;
        }

        if (next.Batch is not { } batch)
        {
            problems.Add(new("next.batch", "Is required: the batch to start when this one ends."));
            return;
        }

        foreach (ValidationProblem problem in validateBatch(batch).Problems)
        {
            problems.Add(new(problem.Path.Length == 0 ? "next.batch" : "next.batch." + problem.Path, problem.Message));
        }

        // A GUID batch id is 32 characters.
        string own = request.BatchId ?? new string('0', 32);
        if (batch.BatchId is null && own.Length + ".next".Length > limits.MaxIdLength)
        {
            problems.Add(new("next.batch.batchId", $"Is needed: the default, {own}.next, is longer than {limits.MaxIdLength} characters."));
        }
        else if (batch.BatchId is not null && batch.BatchId == request.BatchId)
        {
            problems.Add(new("next.batch.batchId", "Must differ from the batch's own id."));
        }
    }

    private static void ValidateOnComplete(CompletionHook hook, HookOptions options, List<ValidationProblem> problems)
    {
        if (hook.Webhook is null && hook.Queue is null)
        {
            problems.Add(new("onComplete", "Give a webhook, a queue or both."));
        }

        if (hook.Webhook is not null)
        {
            if (string.IsNullOrEmpty(options.Secret))
            {
                problems.Add(new("onComplete.webhook", "Webhooks are off: no signing secret is configured (DurableJobs:Hooks:Secret)."));
            }
            else if (HookTargets.CheckWebhook(hook.Webhook, options) is { } problem)
            {
                problems.Add(new("onComplete.webhook", problem));
            }
        }

        if (hook.Queue is { } queue && !HookTargets.IsQueueName(queue))
        {
            problems.Add(new("onComplete.queue", "Must be a storage queue name: 3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."));
        }

        if (hook.DeadlineSeconds is { } seconds && (double.IsNaN(seconds) || seconds <= 0 || seconds > options.MaxDeadline.TotalSeconds))
        {
            problems.Add(new("onComplete.deadlineSeconds", $"Must be more than 0 and at most {options.MaxDeadline.TotalSeconds:0} seconds (got {seconds})."));
        }
    }
}
