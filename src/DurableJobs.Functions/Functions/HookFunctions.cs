using System.Text.Json;
using DurableJobs.Client.Hooks;
using DurableJobs.Core.Serialization;
using DurableJobs.Orchestration.Hooks;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Functions.Functions;

/// <summary>
/// Completion hooks under Azure Functions: the hook orchestrator and its delivery activity, thin wrappers over the
/// classes the embedded engine runs (internal wire types travel as JSON in and objects out).
/// </summary>
public sealed class HookFunctions
{
    private readonly BatchClientFactory clients;
    private readonly WebhookSender webhooks;
    private readonly IHookQueue queues;

    /// <summary>Creates the functions from the app's container (the services behind them are internal).</summary>
    public HookFunctions(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        clients = services.GetRequiredService<BatchClientFactory>();
        webhooks = services.GetRequiredService<WebhookSender>();
        queues = services.GetRequiredService<IHookQueue>();
    }

    /// <summary>Delivers an ended batch's hooks (webhook, queue, next batch), each retried until the hook's deadline.</summary>
    [Function(HookNames.Orchestrator)]
    public static async Task<object> RunHooks([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await new BatchHookOrchestrator().RunAsync(context, context.GetInput<BatchHookInput>()!).ConfigureAwait(false);
    }

    /// <summary>One delivery attempt of one hook step.</summary>
    [Function(HookNames.DeliverActivity)]
    public async Task<object> DeliverBatchHook([ActivityTrigger] JsonElement step, [DurableClient] DurableTaskClient durable, CancellationToken cancellationToken) =>
        await new DeliverBatchHookActivity(clients.Create(durable), webhooks, queues)
            .DeliverAsync(step.Deserialize<HookStep>(DurableJobsJson.Options) ?? throw new InvalidOperationException("The activity input is not a HookStep."), cancellationToken)
            .ConfigureAwait(false);
}
