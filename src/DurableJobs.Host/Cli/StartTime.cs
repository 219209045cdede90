using System.Globalization;
using DurableJobs.Core.Serialization;

namespace DurableJobs.Host.Cli;

/// <summary>The <c>--at</c> option: an ISO 8601 time with its offset, as the batch request's <c>startAt</c>.</summary>
internal static class StartTime
{
    public static DateTimeOffset? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (!OffsetDateTimeConverter.HasOffset(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset at))
        {
            throw new CliException($"--at '{text}' is not an ISO 8601 date and time with an offset (such as 2026-12-01T18:00:00+01:00 or 2026-12-01T17:00:00Z).");
        }

        return at;
    }
}
