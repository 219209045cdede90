using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Tests.Validation;

public sealed class BatchValidatorTests
{
    private readonly BatchValidator validator = new(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns());

    [Theory]
    [InlineData("2026-12-01T18:00:00")]
    [InlineData("2026-12-01")]
    [InlineData("18:00")]
    [InlineData("tomorrow")]
    public void StartAtWithoutAnOffset_IsRefusedAtParsing_NamingTheField(string startAt)
    {
        JsonException ex = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<BatchRequest>($$"""{"startAt":"{{startAt}}","jobs":[{"type":"echo"}]}""", DurableJobsJson.Options));
        Assert.Equal("$.startAt", ex.Path);
    }

    [Theory]
    [InlineData("2026-12-01T18:00:00Z", "2026-12-01T18:00:00+00:00")]
    [InlineData("2026-12-01T18:00:00+01:00", "2026-12-01T17:00:00+00:00")]
    [InlineData("2026-12-01T18:00:00.250-05:30", "2026-12-01T23:30:00.25+00:00")]
    public void StartAtWithAnOffset_ParsesToThatInstant(string startAt, string utc)
    {
        BatchRequest request = JsonSerializer.Deserialize<BatchRequest>($$"""{"startAt":"{{startAt}}","jobs":[{"type":"echo"}]}""", DurableJobsJson.Options)!;
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), request.StartAt);
        Assert.True(validator.Validate(request).IsValid);
    }

    [Fact]
    public void ValidRequest_HasNoProblems()
    {
        ValidationResult result = Validate("""
            {"batchId":"b-1","maxParallel":5,"deadlineSeconds":60,
             "retry":{"maxAttempts":3,"firstRetryDelaySeconds":0.5,"backoffCoefficient":2,"maxRetryDelaySeconds":10},
             "abortWhen":{"minJobs":100,"failureRate":0.2},
             "jobs":[{"id":"a","type":"delay","payload":{"ms":10}},{"type":"echo","payload":"hi"}]}
            """);
        Assert.True(result.IsValid, result.ToString());
    }

    [Theory]
    [InlineData("""{"startAt":"2026-12-01T18:00:00Z","startAfterSeconds":5,"jobs":[{"type":"echo"}]}""", "startAt", "Give startAt or startAfterSeconds, not both.")]
    [InlineData("""{"startAfterSeconds":-1,"jobs":[{"type":"echo"}]}""", "startAfterSeconds", "Must be between 0 and 31622400 seconds (366 days) (got -1).")]
    [InlineData("""{"startAfterSeconds":31622401,"jobs":[{"type":"echo"}]}""", "startAfterSeconds", "Must be between 0 and 31622400 seconds (366 days) (got 31622401).")]
    [InlineData("""{"startAt":"2226-12-01T18:00:00+01:00","jobs":[{"type":"echo"}]}""", "startAt", "Must be at most 366 days ahead (got 2226-12-01T18:00:00.0000000+01:00).")]
    [InlineData("""{"jobs":[]}""", "jobs", "A batch needs at least one job.")]
    [InlineData("""{}""", "jobs", "A batch needs at least one job.")]
    [InlineData("""{"maxParallel":0,"jobs":[{"type":"echo"}]}""", "maxParallel", "Must be between 1 and 1000 (got 0).")]
    [InlineData("""{"maxParallel":-3,"jobs":[{"type":"echo"}]}""", "maxParallel", "Must be between 1 and 1000 (got -3).")]
    [InlineData("""{"maxParallel":1001,"jobs":[{"type":"echo"}]}""", "maxParallel", "Must be between 1 and 1000 (got 1001).")]
    [InlineData("""{"deadlineSeconds":0,"jobs":[{"type":"echo"}]}""", "deadlineSeconds", "Must be a positive number of seconds (got 0).")]
    [InlineData("""{"deadlineSeconds":-5,"jobs":[{"type":"echo"}]}""", "deadlineSeconds", "Must be a positive number of seconds (got -5).")]
    [InlineData("""{"deadlineSeconds":604801,"jobs":[{"type":"echo"}]}""", "deadlineSeconds", "Must be at most 604800 seconds (7 days) (got 604801).")]
    [InlineData("""{"jobTimeoutSeconds":0,"jobs":[{"type":"echo"}]}""", "jobTimeoutSeconds", "Must be a positive number of seconds (got 0).")]
    [InlineData("""{"jobTimeoutSeconds":-2,"jobs":[{"type":"echo"}]}""", "jobTimeoutSeconds", "Must be a positive number of seconds (got -2).")]
    [InlineData("""{"jobs":[{"type":"echo","jobTimeoutSeconds":0}]}""", "jobs[0].jobTimeoutSeconds", "Must be a positive number of seconds (got 0).")]
    [InlineData("""{"jobs":[{"type":"echo"},{"type":"echo","jobTimeoutSeconds":-1}]}""", "jobs[1].jobTimeoutSeconds", "Must be a positive number of seconds (got -1).")]
    [InlineData("""{"jobs":[{"type":"echo","jobTimeoutSeconds":604801}]}""", "jobs[0].jobTimeoutSeconds", "Must be at most 604800 seconds, the longest deadline (got 604801).")]
    [InlineData("""{"jobs":[{"payload":1}]}""", "jobs[0].type", "Is required.")]
    [InlineData("""{"jobs":[{"type":"echo"},{"type":" "}]}""", "jobs[1].type", "Is required.")]
    [InlineData("""{"jobs":[{"type":"echo"},{"type":"echo"},{"type":"teleport"}]}""", "jobs[2].type", "Unknown job type 'teleport'.")]
    [InlineData("""{"jobs":[{"id":"x","type":"echo"},{"id":"y","type":"echo"},{"id":"x","type":"echo"}]}""", "jobs[2].id", "Duplicate job id 'x' (first used by jobs[0]).")]
    [InlineData("""{"jobs":[{"type":"echo"},{"id":"0","type":"echo"}]}""", "jobs[1].id", "Duplicate job id '0' (first used by jobs[0]).")]
    [InlineData("""{"batchId":"a/b","jobs":[{"type":"echo"}]}""", "batchId", "May contain only ASCII letters, digits, '-', '_' and '.'.")]
    [InlineData("""{"jobs":[{"id":"a b","type":"echo"}]}""", "jobs[0].id", "May contain only ASCII letters, digits, '-', '_' and '.'.")]
    [InlineData("""{"retry":{"maxAttempts":0},"jobs":[{"type":"echo"}]}""", "retry.maxAttempts", "Must be between 1 and 100 (got 0).")]
    [InlineData("""{"retry":{"backoffCoefficient":0.5},"jobs":[{"type":"echo"}]}""", "retry.backoffCoefficient", "Must be 1 or more (got 0.5).")]
    [InlineData("""{"abortWhen":{"minJobs":0,"failureRate":0.2},"jobs":[{"type":"echo"}]}""", "abortWhen.minJobs", "Must be between 1 and 100000 (got 0).")]
    [InlineData("""{"abortWhen":{"minJobs":10,"failureRate":1},"jobs":[{"type":"echo"}]}""", "abortWhen.failureRate", "Must be a fraction from 0 up to, not including, 1 (got 1).")]
    [InlineData("""{"abortWhen":{"minJobs":10,"failureRate":-0.1},"jobs":[{"type":"echo"}]}""", "abortWhen.failureRate", "Must be a fraction from 0 up to, not including, 1 (got -0.1).")]
    [InlineData("""{"jobs":[null]}""", "jobs[0]", "Must be a job object, not null.")]
    [InlineData("""{"batchId":"..","jobs":[{"type":"echo"}]}""", "batchId", "Must not end with '.' (it becomes a storage path segment).")]
    [InlineData("""{"batchId":".","jobs":[{"type":"echo"}]}""", "batchId", "Must not end with '.' (it becomes a storage path segment).")]
    [InlineData("""{"batchId":"nightly.","jobs":[{"type":"echo"}]}""", "batchId", "Must not end with '.' (it becomes a storage path segment).")]
    [InlineData("""{"jobs":[{"id":".","type":"echo"}]}""", "jobs[0].id", "Must not end with '.' (it becomes a storage path segment).")]
    [InlineData("""{"jobs":[{"type":"hash","payload":{"iterations":9000000000000000000}}]}""", "jobs[0].payload.iterations", "Payload field 'iterations' must be at most 100000000 (got 9000000000000000000).")]
    [InlineData("""{"jobs":[{"type":"echo"},{"type":"delay","payload":{"ms":"soon"}}]}""", "jobs[1].payload.ms", "Payload field 'ms' must be a non-negative whole number.")]
    [InlineData("""{"jobs":[{"type":"rm -rf /\n03:00:00 info: forged line"}]}""", "jobs[0].type", "Unknown job type 'rm -rf /\\u000A03:00:00 info: forged line'.")]
    public void EachRule_ReportsItsFieldPathAndMessage(string json, string path, string message)
    {
        ValidationResult result = Validate(json);
        ValidationProblem problem = Assert.Single(result.Problems);
        Assert.Equal(path, problem.Path);
        Assert.Equal(message, problem.Message);
    }

    [Theory]
    [InlineData("""{"statuses":[]}""", "statuses", "Must name at least one status when given.")]
    [InlineData("""{"statuses":["Pending"]}""", "statuses", "A finished batch has no Pending job.")]
    [InlineData("""{"maxParallel":0}""", "maxParallel", "Must be between 1 and 1000 (got 0).")]
    [InlineData("""{"deadlineSeconds":-1}""", "deadlineSeconds", "Must be a positive number of seconds (got -1).")]
    [InlineData("""{"retry":{"maxAttempts":0}}""", "retry.maxAttempts", "Must be between 1 and 100 (got 0).")]
    public void RerunOverrides_FollowTheBatchRules_NamingTheField(string json, string path, string message)
    {
        ValidationProblem problem = Assert.Single(validator.ValidateRerun(JsonSerializer.Deserialize<RerunRequest>(json, DurableJobsJson.Options)!).Problems);
        Assert.Equal((path, message), (problem.Path, problem.Message));
    }

    /// <summary>
    /// A schedule's state and its activities' inputs carry its batch template, written with options that keep nulls;
    /// a request without a budget must serialize as before the budget existed, or recorded schedule histories no longer
    /// replay (the replay found <c>"abortWhen":null</c> in the template).
    /// </summary>
    [Fact]
    public void ARequestWithoutABudget_SerializesWithoutTheField_EvenWithOptionsThatWriteNulls()
    {
        var request = new BatchRequest { Jobs = [new JobSpec { Type = "echo" }] };
        string json = JsonSerializer.Serialize(request, new JsonSerializerOptions());
        Assert.DoesNotContain("abortWhen", json, StringComparison.Ordinal);
        Assert.Contains("\"startAt\":null", json, StringComparison.Ordinal);
        Assert.Contains("\"abortWhen\":{", JsonSerializer.Serialize(request with { AbortWhen = new AbortWhen { MinJobs = 5 } }, new JsonSerializerOptions()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100, 0.2, 99, 99, false)] // too few finished to judge
    [InlineData(100, 0.2, 100, 20, false)] // exactly 20 %: not more than the budget
    [InlineData(100, 0.2, 100, 21, true)]
    [InlineData(1, 0, 1, 1, true)] // rate 0: the first failure stops
    [InlineData(1, 0, 5, 0, false)]
    public void FailureBudget_IsSpentOnlyPastMinJobsAndAboveTheRate(int minJobs, double rate, int finished, int failed, bool spent) =>
        Assert.Equal(spent, new AbortWhen { MinJobs = minJobs, FailureRate = rate }.IsSpent(finished, failed));

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("...")]
    [InlineData("nightly.")]
    [InlineData("a..")]
    public void BatchIdsEndingInADot_AreRefused_TheyWouldNameAnotherBatchsStorage(string batchId)
    {
        // Blob paths are {batchId}/...: a client resolves "." and ".." segments and Azure Storage drops a segment's
        // trailing dot, so "nightly." would store under "nightly/" and "." outside any batch's prefix.
        ValidationResult result = validator.Validate(new BatchRequest { BatchId = batchId, Jobs = [new JobSpec { Type = "echo" }] });

        ValidationProblem problem = Assert.Single(result.Problems);
        Assert.Equal("batchId", problem.Path);
        Assert.Contains("end with '.'", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".nightly")]
    [InlineData("nightly.2026.v2")]
    [InlineData("a..b")]
    public void BatchIdsWithDotsInside_OrLeading_AreAccepted(string batchId) =>
        Assert.True(validator.Validate(new BatchRequest { BatchId = batchId, Jobs = [new JobSpec { Type = "echo" }] }).IsValid);

    [Fact]
    public void An_unknown_type_is_echoed_escaped_and_cut_to_100_characters()
    {
        string type = "\u001b[31m" + new string('t', 10_000) + "\r\n";
        ValidationProblem problem = Assert.Single(validator.Validate(new BatchRequest { Jobs = [new JobSpec { Type = type }] }).Problems);

        Assert.Equal("jobs[0].type", problem.Path);
        Assert.StartsWith("Unknown job type '\\u001B[31mttt", problem.Message, StringComparison.Ordinal);
        Assert.EndsWith("…' (10007 characters).", problem.Message, StringComparison.Ordinal);
        Assert.True(problem.Message.Length < 160, problem.Message);
        Assert.DoesNotContain(problem.Message, c => char.IsControl(c));
    }

    [Fact]
    public void TooManyJobs_IsOneProblem_AtTheConfiguredLimit()
    {
        var limited = new BatchValidator(new BatchLimits { MaxJobsPerBatch = 3 }, JobHandlerRegistry.CreateWithBuiltIns());
        var request = new BatchRequest { Jobs = Enumerable.Range(0, 4).Select(_ => new JobSpec { Type = "nope" }).ToList() };

        ValidationProblem problem = Assert.Single(limited.Validate(request).Problems);

        Assert.Equal("jobs", problem.Path);
        Assert.Equal("A batch may hold at most 3 jobs (got 4).", problem.Message);
    }

    [Fact]
    public void DefaultJobLimit_IsOneHundredThousand()
    {
        var request = new BatchRequest { Jobs = Enumerable.Range(0, 100_001).Select(_ => new JobSpec { Type = "echo" }).ToList() };
        ValidationProblem problem = Assert.Single(validator.Validate(request).Problems);
        Assert.Equal("A batch may hold at most 100000 jobs (got 100001).", problem.Message);

        var atLimit = request with { Jobs = request.Jobs!.Take(100_000).ToList() };
        Assert.True(validator.Validate(atLimit).IsValid);
    }

    [Fact]
    public void OversizedPayload_IsReportedWithItsSize()
    {
        string big = new('x', 64 * 1024);
        ValidationResult result = Validate($$"""{"jobs":[{"type":"echo","payload":"small"},{"type":"echo","payload":"{{big}}"}]}""");

        ValidationProblem problem = Assert.Single(result.Problems);
        Assert.Equal("jobs[1].payload", problem.Path);
        Assert.Equal("Is 65538 bytes; the limit is 65536 bytes.", problem.Message);
    }

    [Fact]
    public void ConfiguredParallelismRange_IsEnforced()
    {
        var limited = new BatchValidator(new BatchLimits { MaxParallel = 50 }, JobHandlerRegistry.CreateWithBuiltIns());
        ValidationResult result = limited.Validate(new BatchRequest { MaxParallel = 51, Jobs = [new JobSpec { Type = "echo" }] });
        Assert.Equal("Must be between 1 and 50 (got 51).", Assert.Single(result.Problems).Message);
    }

    [Fact]
    public void AllProblems_AreReturnedAtOnce_KeyedByPath()
    {
        ValidationResult result = Validate("""
            {"maxParallel":0,"deadlineSeconds":-1,
             "jobs":[{"id":"a","type":"echo"},{"id":"a"},{"type":"zzz"}]}
            """);

        IDictionary<string, string[]> byPath = result.ToDictionary();
        Assert.Equal(
            ["deadlineSeconds", "jobs[1].id", "jobs[1].type", "jobs[2].type", "maxParallel"],
            byPath.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(5, result.Problems.Count);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void NullRequest_IsOneProblem()
    {
        ValidationProblem problem = Assert.Single(validator.Validate(null).Problems);
        Assert.Equal(string.Empty, problem.Path);
    }

    [Fact]
    public void RetryDelays_GrowByTheCoefficient_UpToTheMaximum()
    {
        var retry = new RetrySpec { MaxAttempts = 6, FirstRetryDelaySeconds = 1, BackoffCoefficient = 3, MaxRetryDelaySeconds = 10 };
        Assert.Equal([1.0, 3.0, 9.0, 10.0, 10.0], Enumerable.Range(2, 5).Select(a => retry.DelayBefore(a).TotalSeconds));
    }

    private ValidationResult Validate(string json) =>
        validator.Validate(JsonSerializer.Deserialize<BatchRequest>(json, DurableJobsJson.Options));
}
