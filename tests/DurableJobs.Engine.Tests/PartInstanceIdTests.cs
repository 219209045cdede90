using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;
using DurableJobs.Orchestration.Orchestrators;

namespace DurableJobs.Engine.Tests;

/// <summary>The instance ids of a large batch's parts are in a namespace no request can name.</summary>
public sealed class PartInstanceIdTests
{
    private static readonly BatchValidator Validator = new(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns());

    [Theory]
    [InlineData("B")]
    [InlineData("B-part-0001")]
    [InlineData("nightly-2026-11-29.v2_x")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    public void PartIds_OfAnyBatch_AreRefusedAsBatchIds_AtParts0To9999(string batchId)
    {
        foreach (int part in new[] { 0, 1, 2, 9_999 })
        {
            string partId = BatchParts.InstanceId(batchId, part);

            ValidationResult result = Validator.Validate(new BatchRequest { BatchId = partId, Jobs = [new JobSpec { Type = "echo" }] });

            Assert.False(BatchValidator.IsValidId(partId), partId);
            Assert.Contains(result.Problems, p => p.Path == "batchId");
        }
    }
}
