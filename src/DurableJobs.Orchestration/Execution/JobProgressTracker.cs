using DurableJobs.Orchestration.Model;
using DurableJobs.Orchestration.Storage;
using Microsoft.Extensions.Logging;

namespace DurableJobs.Orchestration.Execution;

/// <summary>
/// The progress of a chunk's running jobs, kept in memory and written coalesced: at most one write per flush interval
/// (a second) for the whole chunk, holding each changed job's latest state, in transactions of up to 100 rows. A job
/// that starts and finishes within one interval is never written; one that runs longer gets a row at the next flush
/// (so <c>jobs?status=Running</c> lists it), which is deleted once its result is recorded (not before: the row holds
/// the checkpoint a redelivery needs). Progress is best effort: a failed write is logged and retried at the next flush.
/// </summary>
internal sealed class JobProgressTracker : IAsyncDisposable
{
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(1);

    private readonly IJobProgressStore store;
    private readonly string batchId;
    private readonly string worker;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly Dictionary<int, Entry> entries = [];
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly ITimer timer;

    // Never disposed: a timer tick already under way may still ask for it after DisposeAsync.
    private readonly SemaphoreSlim flushing = new(1, 1);

    public JobProgressTracker(IJobProgressStore store, string batchId, string worker, TimeProvider time, TimeSpan flushInterval, ILogger logger)
    {
        this.store = store;
        this.batchId = batchId;
        this.worker = worker;
        this.time = time;
        this.logger = logger;
        // A periodic timer, not a loop of delays: the ticks keep their pace whatever a write takes, and a tick that finds
        // a write still under way is skipped (its changes go with the next one).
        timer = time.CreateTimer(static state => _ = ((JobProgressTracker)state!).TickAsync(), this, flushInterval, flushInterval);
    }

    /// <summary>Writes (flushes) so far, for the cost measurements and tests.</summary>
    public int Writes { get; private set; }

    /// <summary>Jobs of this chunk that have a row already (an earlier delivery wrote one): deleted when they finish.</summary>
    public void Stored(IEnumerable<int> indices)
    {
        lock (gate)
        {
            foreach (int index in indices)
            {
                entries[index] = new Entry { Stored = true };
            }
        }
    }

    public void Started(ScheduledJob job, int attempt)
    {
        lock (gate)
        {
            Entry entry = Get(job.Index);
            entry.Job = job;
            entry.Attempt = attempt;
            entry.StartedAt ??= time.GetUtcNow();
            entry.ReportedAt = time.GetUtcNow();
            entry.Running = true;
            entry.Version++;
        }
    }

    public void Reported(int index, double value, string? message)
    {
        lock (gate)
        {
            Entry entry = Get(index);
            entry.Value = value;
            entry.Message = message;
            entry.ReportedAt = time.GetUtcNow();
            entry.Version++;
        }
    }

    /// <summary>The job has a row now: its checkpoint was written.</summary>
    public void CheckpointSaved(int index)
    {
        lock (gate)
        {
            Get(index).Stored = true;
        }
    }

    /// <summary>The runner is done with the job: nothing more to show, so an unwritten state is not written.</summary>
    public void Ended(int index)
    {
        lock (gate)
        {
            if (entries.TryGetValue(index, out Entry? entry))
            {
                entry.Running = false;
                entry.Version++;
                if (!entry.Stored)
                {
                    entries.Remove(index);
                }
            }
        }
    }

    /// <summary>The jobs' results are stored: their rows (if any) are deleted at the next flush.</summary>
    public void Recorded(IEnumerable<int> indices)
    {
        lock (gate)
        {
            foreach (int index in indices)
            {
                if (entries.TryGetValue(index, out Entry? entry))
                {
                    if (entry.Stored)
                    {
                        entry.Finished = true;
                        entry.Running = false;
                        entry.Version++;
                    }
                    else
                    {
                        entries.Remove(index);
                    }
                }
            }
        }
    }

    /// <summary>Writes every change since the last flush in one call (nothing when nothing changed).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            flushing.Release();
        }
    }

    private async Task TickAsync()
    {
        if (stopping.IsCancellationRequested || !await flushing.WaitAsync(0).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            await WriteChangesAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposed meanwhile: its final flush writes what this one did not.
        }
        finally
        {
            flushing.Release();
        }
    }

    private async Task WriteChangesAsync(CancellationToken cancellationToken)
    {
        {
            List<(JobProgressRow Row, long Version)> changed = [];
            lock (gate)
            {
                foreach ((int index, Entry entry) in entries)
                {
                    if (entry.Version == entry.WrittenVersion)
                    {
                        continue;
                    }

                    if (entry.Finished)
                    {
                        changed.Add((new JobProgressRow(index, entry.Job?.Id ?? string.Empty, entry.Job?.Type ?? string.Empty, Finished: true), entry.Version));
                    }
                    else if (entry.Running && entry.Job is { } job)
                    {
                        changed.Add((new JobProgressRow(index, job.Id, job.Type, Finished: false)
                        {
                            Attempt = entry.Attempt,
                            StartedAt = entry.StartedAt,
                            Value = entry.Value,
                            Message = entry.Message,
                            ReportedAt = entry.ReportedAt,
                            Worker = worker,
                        }, entry.Version));
                    }
                }
            }

            if (changed.Count == 0)
            {
                return;
            }

            try
            {
                Writes++;
                await store.WriteAsync(batchId, [.. changed.Select(c => c.Row)], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                JobLog.ProgressWriteFailed(logger, ex, batchId, changed.Count);
                return;
            }

            lock (gate)
            {
                foreach ((JobProgressRow row, long version) in changed)
                {
                    if (!entries.TryGetValue(row.Index, out Entry? entry))
                    {
                        continue;
                    }

                    if (row.Finished)
                    {
                        entries.Remove(row.Index);
                        continue;
                    }

                    entry.Stored = true;
                    entry.WrittenVersion = Math.Max(entry.WrittenVersion, version);
                }
            }
        }
    }

    /// <summary>Stops the periodic flush and writes what is left (the deletes of finished jobs' rows, mostly).</summary>
    public async ValueTask DisposeAsync()
    {
        await timer.DisposeAsync().ConfigureAwait(false);
        await stopping.CancelAsync().ConfigureAwait(false);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private Entry Get(int index)
    {
        if (!entries.TryGetValue(index, out Entry? entry))
        {
            entries[index] = entry = new Entry();
        }

        return entry;
    }

    private sealed class Entry
    {
        public ScheduledJob? Job { get; set; }

        public int Attempt { get; set; }

        public DateTimeOffset? StartedAt { get; set; }

        public DateTimeOffset? ReportedAt { get; set; }

        public double? Value { get; set; }

        public string? Message { get; set; }

        /// <summary>Between the runner's start and end of the job.</summary>
        public bool Running { get; set; }

        /// <summary>A row exists in storage (written by a flush, a checkpoint, or an earlier delivery).</summary>
        public bool Stored { get; set; }

        /// <summary>The result is recorded: the row is to be deleted.</summary>
        public bool Finished { get; set; }

        public long Version { get; set; }

        public long WrittenVersion { get; set; }
    }
}
