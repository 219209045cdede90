using System.Text;
using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;

namespace DurableJobs.Core.Validation;

/// <summary>
/// Checks a <see cref="BatchRequest"/> against <see cref="BatchLimits"/> and the known job types,
/// returning every problem at once so a client can fix them in one round trip.
/// </summary>
public sealed class BatchValidator
{
    private readonly BatchLimits limits;
    private readonly Func<string, bool> isKnownType;

    /// <summary>Creates a validator.</summary>
    /// <param name="limits">The limits to enforce.</param>
    /// <param name="registry">The handlers; a job type not registered here is rejected.</param>
    public BatchValidator(BatchLimits limits, JobHandlerRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(registry);
        this.limits = limits;
        isKnownType = registry.Contains;
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
            ValidateBatchId(request.BatchId, problems);
        }

        ValidateParallelism(request.MaxParallel, problems);
        ValidateDeadline(request.DeadlineSeconds, problems);
        if (request.Retry is not null)
        {
            ValidateRetry(request.Retry, problems);
        }

        ValidateJobs(request.Jobs, problems);
        return new ValidationResult(problems);
    }

    /// <summary>
    /// True when <paramref name="id"/> can name a batch or job: it becomes part of storage keys,
    /// so only letters, digits, '-', '_' and '.' are allowed. Every other character stays free for the ids the
    /// service derives itself (a large batch's parts are <c>{batchId}:part-NNNN</c>), which no request can then name.
    /// </summary>
    public static bool IsValidIdCharacters(string id) =>
        id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private void ValidateBatchId(string id, List<ValidationProblem> problems)
    {
        int before = problems.Count;
        ValidateId(id, "batchId", problems);

        // Blob names are {batchId}/...: a client resolves "." and ".." segments, and Azure Storage drops a segment's
        // trailing dot (Azurite keeps it), so "x." would store under "x/" and "." under no batch's name at all.
        if (problems.Count == before && id.EndsWith('.'))
        {
            problems.Add(new("batchId", "Must not end with '.': Azure Storage drops a path segment's trailing '.', so the batch would share another batch's storage."));
        }
    }

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
        else if (!IsValidIdCharacters(id))
        {
            problems.Add(new(path, "May contain only ASCII letters, digits, '-', '_' and '.'."));
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

    private void ValidateJobs(IReadOnlyList<JobSpec>? jobs, List<ValidationProblem> problems)
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
            else if (!isKnownType(job.Type))
            {
                problems.Add(new($"{path}.type", $"Unknown job type '{job.Type}'."));
            }

            string id = JobIds.IdOf(job, i);
            if (job.Id is not null)
            {
                ValidateId(job.Id, $"{path}.id", problems);
            }

            if (firstIndexById.TryGetValue(id, out int first))
            {
                problems.Add(new($"{path}.id", $"Duplicate job id '{id}' (first used by jobs[{first}])."));
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
}
