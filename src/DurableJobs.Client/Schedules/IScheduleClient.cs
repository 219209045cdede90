using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Schedules;

namespace DurableJobs.Client.Schedules;

/// <summary>
/// Creates, updates, reads, lists, pauses, resumes, triggers and deletes recurring schedules. Registered by
/// <c>AddClient()</c>; the HTTP API, the CLI and the Functions app go through it.
/// </summary>
public interface IScheduleClient
{
    /// <summary>
    /// Creates schedule <paramref name="name"/>, or updates it (from its next occurrence). An invalid definition stores
    /// nothing and comes back as <see cref="ScheduleSetOutcome.Validation"/>.
    /// </summary>
    Task<ScheduleSetOutcome> SetAsync(string name, ScheduleDefinition? definition, CancellationToken cancellationToken = default);

    /// <summary>The schedule with its next occurrences and its latest runs (each with its batch's status), or null.</summary>
    Task<ScheduleView?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every schedule, by name (runs without their batches' status).</summary>
    Task<IReadOnlyList<ScheduleView>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops starting occurrences until <see cref="ResumeAsync"/>.</summary>
    Task<ScheduleCommandOutcome> PauseAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Starts occurrences again from the next one (those that fell while paused are not caught up).</summary>
    Task<ScheduleCommandOutcome> ResumeAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Starts an occurrence now (also while paused), under the schedule's overlap policy.</summary>
    Task<ScheduleCommandOutcome> TriggerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Ends the schedule for good (batches already started run on); the name is free again afterwards.</summary>
    Task<ScheduleCommandOutcome> DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>What came of <see cref="IScheduleClient.SetAsync"/>.</summary>
public sealed record ScheduleSetOutcome
{
    /// <summary>The problems that stopped it; empty when stored.</summary>
    public ValidationResult Validation { get; init; } = new([]);

    /// <summary>True when the schedule was created, false when an existing one was updated.</summary>
    public bool Created { get; init; }

    /// <summary>True when the definition was accepted.</summary>
    public bool Accepted => Validation.IsValid;
}

/// <summary>What came of a pause, resume, trigger or delete.</summary>
public enum ScheduleCommandOutcome
{
    /// <summary>No schedule has that name.</summary>
    NotFound,

    /// <summary>Sent to the schedule, which applies it within about a second.</summary>
    Accepted,
}
