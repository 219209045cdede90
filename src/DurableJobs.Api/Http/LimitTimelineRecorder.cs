using DurableJobs.Api.Responses;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Api.Http;

/// <summary>
/// <c>GET /api/limits/{name}/timeline</c>: every limit's in use, effective value and maximum, sampled once a second
/// into a bounded ring (the last 10 minutes). A limit row only holds the present, and the jobs' own start and finish
/// times would mean reading every batch's results, so the history is recorded here, in the host that serves the
/// dashboard. Sampling costs one table query a second, so it runs only while someone asked for a timeline in the last
/// two minutes: it starts with the first request (whose answer waits for the first sample) and stops by itself.
/// Every viewer of this host shares one sampler, and a reloaded page keeps its history.
/// </summary>
internal sealed partial class LimitTimelineRecorder(LimitHttpApi limits, TimeProvider time, ILogger<LimitTimelineRecorder> logger) : IAsyncDisposable
{
    /// <summary>Time between samples.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Samples kept per limit: 10 minutes at one a second.</summary>
    public const int Capacity = 600;

    /// <summary>Sampling stops when no timeline was asked for this long.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromMinutes(2);

    private readonly Lock gate = new();
    private readonly Dictionary<string, Queue<(DateTimeOffset At, LimitView View)>> series = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private HashSet<string>? known;
    private DateTimeOffset lastAsked;
    private TaskCompletionSource? firstSample;
    private Task loop = Task.CompletedTask;

    /// <summary>True while the sampling loop runs.</summary>
    public bool IsSampling { get; private set; }

    /// <summary>The timeline of <paramref name="name"/>: 404 when no limit has that name.</summary>
    public async Task<IResult> GetAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureSamplingAsync(cancellationToken).ConfigureAwait(false);
        LimitTimeline? timeline = Read(name);
        return timeline is null
            ? new ApiError(StatusCodes.Status404NotFound, ApiErrorCodes.LimitNotFound, "The limit does not exist.", $"No limit has the name '{name}'.").ToResult()
            : new BatchHttpApi.JsonResult(timeline, StatusCodes.Status200OK);
    }

    /// <summary>Reads every limit once and appends a point to each one's ring.</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        LimitView[] views = await limits.ReadViewsAsync(cancellationToken).ConfigureAwait(false);
        DateTimeOffset at = time.GetUtcNow();
        lock (gate)
        {
            foreach (LimitView view in views)
            {
                if (!series.TryGetValue(view.Name, out Queue<(DateTimeOffset, LimitView)>? ring))
                {
                    series[view.Name] = ring = new Queue<(DateTimeOffset, LimitView)>();
                }

                if (ring.Count == Capacity)
                {
                    ring.Dequeue();
                }

                ring.Enqueue((at, view));
            }

            known = views.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        }
    }

    /// <summary>The samples of <paramref name="name"/>, oldest first; null when the last sample had no such limit.</summary>
    public LimitTimeline? Read(string name)
    {
        lock (gate)
        {
            if (known is null || !known.Contains(name))
            {
                return null;
            }

            (DateTimeOffset At, LimitView View)[] samples = series.TryGetValue(name, out var ring) ? ring.ToArray() : [];
            DateTimeOffset? from = samples.Length > 0 ? samples[0].At : null;
            return new LimitTimeline
            {
                Name = name,
                IntervalSeconds = Interval.TotalSeconds,
                From = from,
                Points = samples.Select(s => new LimitTimelinePoint(
                    (s.At - from!.Value).TotalSeconds, s.View.InUse, s.View.Effective, s.View.MaxConcurrent, s.View.WaitingWorkers, s.View.WaitingBatches)).ToArray(),
            };
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        Task running;
        lock (gate)
        {
            running = loop;
        }

        await running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stopping.Dispose();
    }

    /// <summary>Marks the request and starts the loop if it stopped; waits for the first sample of a new loop.</summary>
    private async Task EnsureSamplingAsync(CancellationToken cancellationToken)
    {
        Task first;
        lock (gate)
        {
            lastAsked = time.GetUtcNow();
            if (!IsSampling)
            {
                IsSampling = true;
                firstSample = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                TaskCompletionSource started = firstSample;
                loop = Task.Run(() => RunAsync(started, stopping.Token), CancellationToken.None);
            }

            first = firstSample!.Task;
        }

        await first.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(TaskCompletionSource first, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                try
                {
                    await SampleAsync(cancellationToken).ConfigureAwait(false);
                    first.TrySetResult();
                }
                catch (Exception error) when (!cancellationToken.IsCancellationRequested)
                {
                    // The first request learns of it (a 500, as any storage failure); later ones get the history so far.
                    first.TrySetException(error);
                    LogSampleFailed(logger, error);
                }

                lock (gate)
                {
                    // Decided under the lock a request takes to start the loop, so no request is left without a sampler.
                    if (time.GetUtcNow() - lastAsked > IdleAfter)
                    {
                        IsSampling = false;
                        return;
                    }
                }

                await Task.Delay(Interval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            first.TrySetCanceled(cancellationToken);
            lock (gate)
            {
                IsSampling = false;
            }
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Sampling the limits for their timeline failed; the next sample is in a second")]
    private static partial void LogSampleFailed(ILogger logger, Exception error);
}
