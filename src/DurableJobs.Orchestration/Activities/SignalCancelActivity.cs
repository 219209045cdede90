using DurableJobs.Orchestration.Signals;
using Microsoft.DurableTask;

namespace DurableJobs.Orchestration.Activities;

/// <summary>
/// Raises a batch's cancel signal, which every running chunk of the batch watches, so its handlers stop within about a
/// second. A client cancel writes the signal itself; the orchestrator cannot do I/O, so when it stops a batch on its
/// own (a spent failure budget) it asks this activity. Idempotent.
/// </summary>
internal sealed class SignalCancelActivity : TaskActivity<string, bool>
{
    private readonly IBatchCancellationSignals signals;

    /// <summary>Creates the activity.</summary>
    public SignalCancelActivity(IBatchCancellationSignals signals)
    {
        ArgumentNullException.ThrowIfNull(signals);
        this.signals = signals;
    }

    /// <inheritdoc />
    public override Task<bool> RunAsync(TaskActivityContext context, string input) => ExecuteAsync(input);

    /// <summary>The same work without an activity context (Azure Functions).</summary>
    public async Task<bool> ExecuteAsync(string batchId)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        await signals.SignalCancelAsync(batchId).ConfigureAwait(false);
        return true;
    }
}
