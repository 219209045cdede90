using System.Text.Json.Serialization;

namespace DurableJobs.Core.Model;

/// <summary>
/// A batch's failure budget: once at least <see cref="MinJobs"/> jobs have finished (succeeded or failed) and more
/// than <see cref="FailureRate"/> of them failed, the batch stops the way a cancel stops it and ends <c>Aborted</c>.
/// For example <c>{"minJobs": 100, "failureRate": 0.2}</c> stops once more than 20 % of at least 100 finished jobs failed.
/// </summary>
public sealed record AbortWhen
{
    /// <summary>Finished jobs needed before the rate is judged, so a few early failures do not stop a large batch.</summary>
    [JsonPropertyName("minJobs")]
    public int MinJobs { get; init; } = 1;

    /// <summary>The share of finished jobs that may fail, from 0 (any failure stops the batch) to below 1.</summary>
    [JsonPropertyName("failureRate")]
    public double FailureRate { get; init; }

    /// <summary>True when <paramref name="failed"/> of <paramref name="finished"/> jobs spend the budget.</summary>
    public bool IsSpent(int finished, int failed) =>
        finished >= Math.Max(1, MinJobs) && failed > FailureRate * finished;

    /// <summary>Why a batch stopped on this budget, for its view.</summary>
    public string Reason(int finished, int failed) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"Failure budget spent: {failed} of {finished} finished jobs failed ({(double)failed / finished:P1}), more than the allowed {FailureRate:P1} of at least {MinJobs}.");
}
