using DurableJobs.Core.Model;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The job path's outcome line and log scopes, source-generated so a disabled level costs a branch and no allocation.
/// Outcomes go to the <see cref="OutcomeCategory"/> category, so a busy host can turn them down on their own.
/// </summary>
internal static partial class JobLog
{
    /// <summary>The category of the per-job outcome lines: <c>Logging:LogLevel:DurableJobs.Jobs</c> filters them.</summary>
    public const string OutcomeCategory = "DurableJobs.Jobs";

    private static readonly Func<ILogger, string, int, int, IDisposable?> ChunkScopeFormatter =
        LoggerMessage.DefineScope<string, int, int>("BatchId:{BatchId} Chunk:{ChunkStart}+{ChunkCount}");

    private static readonly Func<ILogger, string, string, IDisposable?> JobScopeFormatter =
        LoggerMessage.DefineScope<string, string>("BatchId:{BatchId} JobId:{JobId}");

    public static IDisposable? ChunkScope(ILogger logger, string batchId, int start, int count) => ChunkScopeFormatter(logger, batchId, start, count);

    public static IDisposable? JobScope(ILogger logger, string batchId, string jobId) => JobScopeFormatter(logger, batchId, jobId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Job {BatchId}/{JobId} {Status} after {Attempts} attempt(s) in {DurationMs:0} ms")]
    public static partial void Outcome(ILogger logger, string batchId, string jobId, JobStatus status, int attempts, double durationMs);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Job {BatchId}/{JobId} attempt {Attempt} sent no heartbeat for {TimeoutSeconds} s (jobTimeoutSeconds): cancelled")]
    public static partial void AttemptTimedOut(ILogger logger, string batchId, string jobId, int attempt, double timeoutSeconds);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Job {BatchId}/{JobId} attempt {Attempt} ignored its cancelled token for {GraceSeconds} s after its timeout: abandoned (it runs on unobserved; its slot goes to the next attempt)")]
    public static partial void AttemptAbandoned(ILogger logger, string batchId, string jobId, int attempt, double graceSeconds);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Batch {BatchId}: writing the progress of {Count} jobs failed; it is written again at the next flush")]
    public static partial void ProgressWriteFailed(ILogger logger, Exception exception, string batchId, int count);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Debug, Message = "Job {BatchId}/{JobId} attempt {Attempt} throttled by its downstream: runs again in {RetryAfterSeconds} s, not counted as an attempt")]
    public static partial void AttemptThrottled(ILogger logger, string batchId, string jobId, int attempt, double retryAfterSeconds);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Batch {BatchId}: chunk {Start}+{Length} (lane {Lane}, #{Sequence}) deferred: the chunk before it is not running here nor recorded finished elsewhere")]
    public static partial void ChunkDeferred(ILogger logger, string batchId, int start, int length, string? lane, int sequence);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Batch {BatchId}: chunk {Start}+{Length} (lane {Lane}, #{Sequence}, ready {Ready}, handed over {HandedOver}) admitted")]
    public static partial void ChunkAdmitted(ILogger logger, string batchId, int start, int length, string? lane, int sequence, bool ready, bool handedOver);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Batch {BatchId}: chunk {Start}+{Length} (lane {Lane}, #{Sequence}) finished")]
    public static partial void ChunkFinished(ILogger logger, string batchId, int start, int length, string? lane, int sequence);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Batch {BatchId}: lane {Lane} could not be recorded finished; its next chunk, if elsewhere, goes back to the orchestrator")]
    public static partial void LaneRecordFailed(ILogger logger, Exception exception, string batchId, string lane);
}
