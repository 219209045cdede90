using DurableJobs.Core.Model;
using DurableJobs.Orchestration.Hooks;

namespace DurableJobs.Orchestration.Tests.Hooks;

public sealed class BatchHookOrchestratorTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(6, 32)]
    [InlineData(7, 60)]
    [InlineData(1000, 60)]
    public void RetryDelay_StartsAtOneSecond_Doubles_AndStaysAtOneMinute(int attempt, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), BatchHookOrchestrator.RetryDelay(attempt));

    [Fact]
    public void Steps_AreWebhookQueueNext_InThatOrder_TheNextUnderIdDotNextByDefault()
    {
        var input = new BatchHookInput
        {
            BatchId = "b1",
            Hooks = new BatchHooks
            {
                OnComplete = new CompletionHook { Webhook = "https://h.example/x", Queue = "done" },
                Next = new NextBatch { Batch = new BatchRequest() },
                DeadlineSeconds = 60,
            },
        };

        List<HookStep> steps = BatchHookOrchestrator.StepsOf(input);

        Assert.Equal([(HookStepKind.Webhook, "https://h.example/x"), (HookStepKind.Queue, "done"), (HookStepKind.Next, "b1.next")], steps.Select(s => (s.Kind, s.Target)));
        Assert.All(steps, s => Assert.Equal(("b1", 1), (s.BatchId, s.Attempt)));
    }

    [Fact]
    public void NextStep_UsesTheIdTheNextBatchNames()
    {
        var input = new BatchHookInput { BatchId = "b1", Hooks = new BatchHooks { Next = new NextBatch { Batch = new BatchRequest { BatchId = "tomorrow" } }, DeadlineSeconds = 60 } };
        Assert.Equal("tomorrow", Assert.Single(BatchHookOrchestrator.StepsOf(input)).Target);
    }
}
