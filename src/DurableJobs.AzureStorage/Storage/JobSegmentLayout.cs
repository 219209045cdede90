using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Model;

namespace DurableJobs.Engine.Storage;

/// <summary>
/// Where each job segment of a submission starts. Segments are cut by bytes as well as by jobs, so their sizes vary
/// and a reader needs this list (a few hundred bytes, written once beside the segments) to find job i.
/// </summary>
/// <param name="Starts">The first job index of each segment, ascending; null for <see cref="ThousandEach"/>.</param>
/// <param name="Count">Jobs in the submission.</param>
internal sealed record JobSegmentLayout(
    [property: JsonPropertyName("starts")] int[]? Starts,
    [property: JsonPropertyName("count")] int Count)
{
    /// <summary>Most jobs in a segment: small jobs travel a thousand to a download.</summary>
    public const int MaxJobs = 1_000;

    /// <summary>
    /// Most bytes of JSON in a segment (a single larger job has a segment of its own). A chunk downloads whole
    /// segments, so this bounds what it reads beyond its own jobs; by count alone, 1,000 jobs of 64 KB were one 64 MB
    /// segment that every chunk downloaded and parsed in full.
    /// </summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Segments written before they were sized in bytes: 1,000 jobs each, no layout stored.</summary>
    public static JobSegmentLayout ThousandEach { get; } = new(null, int.MaxValue);

    /// <summary>Estimated managed bytes, for the cache.</summary>
    /// <summary>
    /// For the jobs of a re-run: where they are. Job k is job <c>Indices[k]</c> of the source batch, so no job body is
    /// copied; a re-run of a re-run points at the first batch too. Absent for jobs saved as segments.
    /// </summary>
    [JsonPropertyName("source")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JobSource? Source { get; init; }

    public long EstimatedBytes => 64 + (4L * (Starts?.Length ?? 0)) + (4L * (Source?.Indices.Length ?? 0));

    /// <summary>The segment that holds job <paramref name="index"/>.</summary>
    public int SegmentOf(int index)
    {
        if (Starts is null)
        {
            return index / MaxJobs;
        }

        int found = Array.BinarySearch(Starts, index);
        return found >= 0 ? found : Math.Max(0, ~found - 1);
    }

    /// <summary>The index of the first job of <paramref name="segment"/>.</summary>
    public int StartOf(int segment) => Starts is null ? segment * MaxJobs : Starts[segment];

    /// <summary>
    /// Serializes <paramref name="jobs"/> into JSON-array segments of at most <paramref name="maxJobs"/> jobs and
    /// <paramref name="maxBytes"/> bytes, numbered from 0, in order and lazily (a caller uploading a few at a time
    /// holds only those); <paramref name="starts"/> receives each segment's first index as it is cut.
    /// </summary>
    public static IEnumerable<(int Segment, BinaryData Json)> Write(IReadOnlyList<ScheduledJob> jobs, List<int> starts, int maxJobs = MaxJobs, int maxBytes = MaxBytes)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(starts);
        var job = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(job, new JsonWriterOptions { Encoder = DurableJobsJson.Options.Encoder });
        ArrayBufferWriter<byte>? segment = null;
        int inSegment = 0;
        for (int i = 0; i < jobs.Count; i++)
        {
            job.ResetWrittenCount();
            writer.Reset(job);
            JsonSerializer.Serialize(writer, jobs[i], DurableJobsJson.Options);
            writer.Flush();

            // The comma and the closing bracket count too, so a segment never exceeds maxBytes unless one job does.
            if (segment is not null && (inSegment == maxJobs || segment.WrittenCount + job.WrittenCount + 2 > maxBytes))
            {
                yield return (starts.Count - 1, Close(segment));
                segment = null;
            }

            if (segment is null)
            {
                // Sized from the first job, so a segment of like jobs is written without growing its buffer.
                long expected = (long)job.WrittenCount * Math.Min(maxJobs, jobs.Count - i);
                segment = new ArrayBufferWriter<byte>((int)Math.Min(Math.Max(expected + maxJobs, 256), maxBytes) + 2);
                segment.Write("["u8);
                starts.Add(i);
                inSegment = 0;
            }
            else
            {
                segment.Write(","u8);
            }

            segment.Write(job.WrittenSpan);
            inSegment++;
        }

        if (segment is not null)
        {
            yield return (starts.Count - 1, Close(segment));
        }
    }

    private static BinaryData Close(ArrayBufferWriter<byte> segment)
    {
        segment.Write("]"u8);
        return BinaryData.FromBytes(segment.WrittenMemory);
    }
}

/// <summary>Jobs of another batch a re-run runs: job k of the re-run is job <see cref="Indices"/>[k] of <see cref="BatchId"/>.</summary>
/// <param name="BatchId">The batch whose segments hold the jobs.</param>
/// <param name="JobsKey">Where they are in that batch.</param>
/// <param name="Indices">The indices of the jobs there, in the re-run's order.</param>
internal sealed record JobSource(
    [property: JsonPropertyName("batchId")] string BatchId,
    [property: JsonPropertyName("jobsKey")] string JobsKey,
    [property: JsonPropertyName("indices")] int[] Indices);
