using System.Text;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Hooks;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Model;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Core.Validation;

/// <summary>
/// Checks a <see cref="BatchRequest"/> against <see cref="BatchLimits"/> and the known job types,
/// returning every problem at once so a client can fix them in one round trip.
/// </summary>
internal sealed class BatchValidator
{
    // What a handler sees for a job without a payload (the job runner passes the same).
    private static readonly JsonElement NullPayload = JsonSerializer.SerializeToElement<object?>(null);

    // For handlers built without any service (the built-ins, tests).
    private static readonly IServiceProvider NoServices = new EmptyServices();

    private readonly BatchLimits limits;
    private readonly JobHandlerRegistry registry;
    private readonly IServiceScopeFactory? scopes;
    private readonly TimeProvider time;
    private readonly HookOptions hooks;
    private readonly LimitCatalog? limitCatalog;

    /// <summary>Creates a validator.</summary>
    /// <param name="limits">The limits to enforce.</param>
    /// <param name="registry">The handlers; a job type not registered here is rejected, and each handler checks its jobs' payloads.</param>
    /// <param name="scopes">What a handler with a payload check of its own is created from (a scope per request); none by default.</param>
    /// <param name="time">The clock a <c>startAt</c> is checked against; the system's by default.</param>
    /// <param name="hooks">What completion hooks may do; by default no webhook (there is no secret).</param>
    /// <param name="limitCatalog">The named limits a request may map job types to; none by default.</param>
    public BatchValidator(BatchLimits limits, JobHandlerRegistry registry, IServiceScopeFactory? scopes = null, TimeProvider? time = null, HookOptions? hooks = null, LimitCatalog? limitCatalog = null)
    {
        this.hooks = hooks ?? new HookOptions();
        this.limitCatalog = limitCatalog;
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(registry);
        this.limits = limits;
        this.registry = registry;
        this.scopes = scopes;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Validates <paramref name="request"/>.</summary>
    public ValidationResult Validate(BatchRequest? request)
    {
        var problems = new List<ValidationProblem>();
        if (request is null)
        {
            problems.Add(new ValidationProblem(string.Empty, "The request body must be a JSON object describing a batch."));
            return new ValidationResult(problems);
        }

        if (request.BatchId is not null)
        {
            ValidateId(request.BatchId, "batchId", problems);
        }

        ValidateParallelism(request.MaxParallel, problems);
        ValidateDeadline(request.DeadlineSeconds, problems);
        ValidateJobTimeout(request.JobTimeoutSeconds, "jobTimeoutSeconds", problems);
        ValidateStart(request, problems);
        if (request.Retry is not null)
        {
            ValidateRetry(request.Retry, problems);
        }

        if (request.AbortWhen is not null)
        {
            ValidateAbortWhen(request.AbortWhen, problems);
        }

        if (request.OnComplete is not null || request.Next is not null)
        {
            HookValidation.Validate(request, hooks, limits, Validate, problems);
        }

        if (request.Limits is not null)
        {
            ValidateLimits(request.Limits, problems);
        }

        ValidateTurns(request.Priority, request.Tenant, problems);

        using IServiceScope? scope = scopes?.CreateScope();
        ValidateJobs(request.Jobs, scope?.ServiceProvider ?? NoServices, problems);
        return new ValidationResult(problems);
    }

    /// <summary>Validates the overrides of a re-run (<see cref="RerunRequest"/>) by the rules of a batch request.</summary>
    public ValidationResult ValidateRerun(RerunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<ValidationProblem>();
        if (request.Statuses is { Count: 0 })
        {
            problems.Add(new("statuses", "Must name at least one status when given."));
        }
        else if (request.Statuses?.Contains(JobStatus.Pending) == true)
        {
            problems.Add(new("statuses", "A finished batch has no Pending job."));
        }

        ValidateParallelism(request.MaxParallel, problems);
        ValidateDeadline(request.DeadlineSeconds, problems);
        if (request.Retry is not null)
        {
            ValidateRetry(request.Retry, problems);
        }

        return new ValidationResult(problems);
    }

    /// <summary>
    /// True when <paramref name="id"/> can name a batch or job: it becomes part of storage keys and blob paths, so only
    /// letters, digits, '-', '_' and '.' are allowed, and it may not end with '.' (a blob path segment ending with a
    /// dot is refused or rewritten by storage, and "." and ".." step out of the batch's folder). Every other character
    /// stays free for the ids the service derives itself (a large batch's parts are <c>{batchId}:part-NNNN</c>), which
    /// no request can then name.
    /// </summary>
    public static bool IsValidId(string id) =>
        id.Length > 0 && id[^1] != '.' && id.All(IsIdCharacter);

    private static bool IsIdCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';

    private void ValidateId(string id, string path, List<ValidationProblem> problems)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            problems.Add(new(path, "Must not be empty when given."));
        }
        else if (id.Length > limits.MaxIdLength)
        {
            problems.Add(new(path, $"Must be at most {limits.MaxIdLength} characters long (got {id.Length})."));
        }
        else if (!id.All(IsIdCharacter))
        {
            problems.Add(new(path, "May contain only ASCII letters, digits, '-', '_' and '.'."));
        }
        else if (id[^1] == '.')
        {
            problems.Add(new(path, "Must not end with '.' (it becomes a storage path segment)."));
        }
    }

    private void ValidateParallelism(int? maxParallel, List<ValidationProblem> problems)
    {
        if (maxParallel is { } cap && (cap < limits.MinParallel || cap > limits.MaxParallel))
        {
            problems.Add(new("maxParallel", $"Must be between {limits.MinParallel} and {limits.MaxParallel} (got {cap})."));
        }
    }

    private void ValidateDeadline(double? deadlineSeconds, List<ValidationProblem> problems)
    {
        if (deadlineSeconds is not { } seconds)
        {
            return;
        }

        if (double.IsNaN(seconds) || seconds <= 0)
        {
            problems.Add(new("deadlineSeconds", $"Must be a positive number of seconds (got {seconds})."));
        }
        else if (seconds > limits.MaxDeadline.TotalSeconds)
        {
            problems.Add(new("deadlineSeconds", $"Must be at most {limits.MaxDeadline.TotalSeconds:0} seconds ({limits.MaxDeadline.TotalDays:0.##} days) (got {seconds})."));
        }
    }

    private void ValidateJobTimeout(double? timeoutSeconds, string path, List<ValidationProblem> problems)
    {
        if (timeoutSeconds is not { } seconds)
        {
            return;
        }

        if (double.IsNaN(seconds) || seconds <= 0)
        {
            problems.Add(new(path, $"Must be a positive number of seconds (got {seconds})."));
        }
        else if (seconds > limits.MaxDeadline.TotalSeconds)
        {
            problems.Add(new(path, $"Must be at most {limits.MaxDeadline.TotalSeconds:0} seconds, the longest deadline (got {seconds})."));
        }
    }

    private void ValidateStart(BatchRequest request, List<ValidationProblem> problems)
    {
        TimeSpan max = limits.MaxStartDelay;
        if (request.StartAt is not null && request.StartAfterSeconds is not null)
        {
            problems.Add(new("startAt", "Give startAt or startAfterSeconds, not both."));
            return;
        }

        if (request.StartAfterSeconds is { } seconds && (double.IsNaN(seconds) || seconds < 0 || seconds > max.TotalSeconds))
        {
            problems.Add(new("startAfterSeconds", $"Must be between 0 and {max.TotalSeconds:0} seconds ({max.TotalDays:0.##} days) (got {seconds})."));
        }

        if (request.StartAt is { } startAt && startAt > time.GetUtcNow() + max)
        {
            problems.Add(new("startAt", $"Must be at most {max.TotalDays:0.##} days ahead (got {startAt:O})."));
        }
    }

    private void ValidateRetry(RetrySpec retry, List<ValidationProblem> problems)
    {
        if (retry.MaxAttempts < 1 || retry.MaxAttempts > limits.MaxAttempts)
        {
            problems.Add(new("retry.maxAttempts", $"Must be between 1 and {limits.MaxAttempts} (got {retry.MaxAttempts})."));
        }

        if (!(retry.FirstRetryDelaySeconds >= 0))
        {
            problems.Add(new("retry.firstRetryDelaySeconds", $"Must be zero or more (got {retry.FirstRetryDelaySeconds})."));
        }

        if (!(retry.BackoffCoefficient >= 1))
        {
            problems.Add(new("retry.backoffCoefficient", $"Must be 1 or more (got {retry.BackoffCoefficient})."));
        }

        if (!(retry.MaxRetryDelaySeconds >= 0))
        {
            problems.Add(new("retry.maxRetryDelaySeconds", $"Must be zero or more (got {retry.MaxRetryDelaySeconds})."));
        }
    }

    private void ValidateLimits(IReadOnlyDictionary<string, IReadOnlyList<string>> byType, List<ValidationProblem> problems)
    {
        foreach ((string type, IReadOnlyList<string>? names) in byType)
        {
            string path = $"limits.{type}";
            if (!registry.Contains(type))
            {
                problems.Add(new(path, $"'{DisplayText.Quote(type)}' is not a registered job type."));
            }

            if (names is null || names.Count == 0)
            {
                problems.Add(new(path, "Must name at least one limit."));
                continue;
            }

            for (int i = 0; i < names.Count; i++)
            {
                if (names[i] is not { } name || limitCatalog?.Declared.ContainsKey(name) != true)
                {
                    problems.Add(new($"{path}[{i}]", $"'{DisplayText.Quote(names[i] ?? string.Empty)}' is not a declared limit (DurableJobs:NamedLimits or PUT /api/limits/{{name}})."));
                }
            }
        }
    }

    private static void ValidateTurns(int? priority, string? tenant, List<ValidationProblem> problems)
    {
        if (priority is { } p && (p < LimitTurns.MinPriority || p > LimitTurns.MaxPriority))
        {
            problems.Add(new("priority", $"Must be {LimitTurns.MinPriority} to {LimitTurns.MaxPriority} (got {p})."));
        }

        if (tenant is null)
        {
            return;
        }

        if (tenant.Length == 0)
        {
            problems.Add(new("tenant", "Must not be empty when given."));
        }
        else if (tenant.Length > LimitTurns.MaxTenantLength)
        {
            problems.Add(new("tenant", $"Must be at most {LimitTurns.MaxTenantLength} characters long (got {tenant.Length})."));
        }
        else if (!tenant.All(IsIdCharacter))
        {
            problems.Add(new("tenant", "May contain only ASCII letters, digits, '-', '_' and '.'."));
        }
    }

    private void ValidateAbortWhen(AbortWhen budget, List<ValidationProblem> problems)
    {
        if (budget.MinJobs < 1 || budget.MinJobs > limits.MaxJobsPerBatch)
        {
            problems.Add(new("abortWhen.minJobs", $"Must be between 1 and {limits.MaxJobsPerBatch} (got {budget.MinJobs})."));
        }

        // "More than 100 %" can never happen, so 1 would be a budget that never trips.
        if (!(budget.FailureRate >= 0 && budget.FailureRate < 1))
        {
            problems.Add(new("abortWhen.failureRate", $"Must be a fraction from 0 up to, not including, 1 (got {budget.FailureRate})."));
        }
    }

    private void ValidateJobs(IReadOnlyList<JobSpec>? jobs, IServiceProvider services, List<ValidationProblem> problems)
    {
        if (jobs is null || jobs.Count == 0)
        {
            problems.Add(new("jobs", "A batch needs at least one job."));
            return;
        }

        if (jobs.Count > limits.MaxJobsPerBatch)
        {
            // Checking each of millions of jobs would only bury this message.
            problems.Add(new("jobs", $"A batch may hold at most {limits.MaxJobsPerBatch} jobs (got {jobs.Count})."));
            return;
        }

        var firstIndexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < jobs.Count; i++)
        {
            string path = $"jobs[{i}]";
            JobSpec? job = jobs[i];
            if (job is null)
            {
                problems.Add(new(path, "Must be a job object, not null."));
                continue;
            }

            if (string.IsNullOrWhiteSpace(job.Type))
            {
                problems.Add(new($"{path}.type", "Is required."));
            }
            else if (!registry.Contains(job.Type))
            {
                problems.Add(new($"{path}.type", $"Unknown job type {DisplayText.Quote(job.Type)}."));
            }
            else
            {
                ValidatePayload(services, job.Type, job.Payload, path, problems);
            }

            ValidateJobTimeout(job.JobTimeoutSeconds, $"{path}.jobTimeoutSeconds", problems);
            string id = JobIds.IdOf(job, i);
            if (job.Id is not null)
            {
                ValidateId(job.Id, $"{path}.id", problems);
            }

            if (firstIndexById.TryGetValue(id, out int first))
            {
                problems.Add(new($"{path}.id", $"Duplicate job id {DisplayText.Quote(id)} (first used by jobs[{first}])."));
            }
            else
            {
                firstIndexById.Add(id, i);
            }

            if (job.Payload is { } payload)
            {
                int bytes = Encoding.UTF8.GetByteCount(payload.GetRawText());
                if (bytes > limits.MaxPayloadBytes)
                {
                    problems.Add(new($"{path}.payload", $"Is {bytes} bytes; the limit is {limits.MaxPayloadBytes} bytes."));
                }
            }
        }
    }

    private void ValidatePayload(IServiceProvider services, string type, JsonElement? payload, string path, List<ValidationProblem> problems)
    {
        try
        {
            registry.ValidatePayload(services, type, payload ?? NullPayload);
        }
        catch (JobPayloadException ex)
        {
            problems.Add(new(ex.Field is { } field ? $"{path}.payload.{field}" : $"{path}.payload", ex.Message));
        }
    }

    /// <summary>A provider with no services: handlers with parameterless constructors are still created.</summary>
    private sealed class EmptyServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
