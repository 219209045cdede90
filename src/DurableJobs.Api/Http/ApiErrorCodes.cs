namespace DurableJobs.Api.Http;

/// <summary>The machine-readable <c>code</c> extension of every problem the API returns.</summary>
internal static class ApiErrorCodes
{
    /// <summary>The body is not JSON.</summary>
    public const string MalformedJson = "malformed-json";

    /// <summary>The body is JSON, but a value has the wrong type.</summary>
    public const string WrongJsonType = "wrong-json-type";

    /// <summary>The body nests deeper than allowed.</summary>
    public const string TooDeep = "json-too-deep";

    /// <summary>The body is not valid UTF-8.</summary>
    public const string InvalidUtf8 = "invalid-utf8";

    /// <summary>The body's HTTP framing is broken, so it could not be read.</summary>
    public const string MalformedBody = "malformed-body";

    /// <summary>The body is empty.</summary>
    public const string EmptyBody = "empty-body";

    /// <summary>The batch breaks a rule; <c>errors</c> lists each problem by field path.</summary>
    public const string Validation = "validation-failed";

    /// <summary>The body is larger than the configured limit.</summary>
    public const string BodyTooLarge = "body-too-large";

    /// <summary>The content type is not JSON in UTF-8.</summary>
    public const string UnsupportedMediaType = "unsupported-media-type";

    /// <summary>No batch has the id.</summary>
    public const string BatchNotFound = "batch-not-found";

    /// <summary>The batch already finished.</summary>
    public const string AlreadyFinished = "batch-already-finished";

    /// <summary>The batch has not finished yet (a re-run needs a finished batch).</summary>
    public const string NotFinished = "batch-not-finished";

    /// <summary>The batch has no job with the statuses a re-run asked for.</summary>
    public const string NothingToRerun = "nothing-to-rerun";

    /// <summary>A query parameter is invalid; <c>errors</c> names it.</summary>
    public const string InvalidQuery = "invalid-query";

    /// <summary>Storage or the engine does not answer.</summary>
    public const string Unhealthy = "unhealthy";

    /// <summary>No schedule has that name.</summary>
    public const string ScheduleNotFound = "schedule-not-found";

    /// <summary>A delete of a re-run while a later re-run of the same batch exists.</summary>
    public const string LaterRerunExists = "later-rerun-exists";

    /// <summary>No named limit has that name.</summary>
    public const string LimitNotFound = "limit-not-found";
}
