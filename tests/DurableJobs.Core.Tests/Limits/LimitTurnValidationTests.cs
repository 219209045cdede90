using System.Text.Json;
using DurableJobs.Core.Handlers;
using DurableJobs.Core.Model;
using DurableJobs.Core.Serialization;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Tests.Limits;

public sealed class LimitTurnValidationTests
{
    private readonly BatchValidator validator = new(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns());

    [Theory]
    [InlineData("""{"priority":1,"tenant":"acme","jobs":[{"type":"echo"}]}""")]
    [InlineData("""{"priority":5,"tenant":"a-b_c.D9","jobs":[{"type":"echo"}]}""")]
    [InlineData("""{"jobs":[{"type":"echo"}]}""")]
    public void Priority_1_to_5_and_a_tenant_of_id_characters_are_valid(string json)
    {
        ValidationResult result = validator.Validate(JsonSerializer.Deserialize<BatchRequest>(json, DurableJobsJson.Options));
        Assert.True(result.IsValid, result.ToString());
    }

    [Theory]
    [InlineData("""{"priority":0,"jobs":[{"type":"echo"}]}""", "priority", "Must be 1 to 5 (got 0).")]
    [InlineData("""{"priority":6,"jobs":[{"type":"echo"}]}""", "priority", "Must be 1 to 5 (got 6).")]
    [InlineData("""{"priority":-1,"jobs":[{"type":"echo"}]}""", "priority", "Must be 1 to 5 (got -1).")]
    [InlineData("""{"tenant":"","jobs":[{"type":"echo"}]}""", "tenant", "Must not be empty when given.")]
    [InlineData("""{"tenant":"acme corp","jobs":[{"type":"echo"}]}""", "tenant", "May contain only ASCII letters, digits, '-', '_' and '.'.")]
    [InlineData("""{"tenant":"a:b","jobs":[{"type":"echo"}]}""", "tenant", "May contain only ASCII letters, digits, '-', '_' and '.'.")]
    [InlineData("""{"tenant":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","jobs":[{"type":"echo"}]}""", "tenant", "Must be at most 64 characters long (got 65).")]
    public void A_bad_priority_or_tenant_is_named_by_field(string json, string path, string message)
    {
        ValidationProblem problem = Assert.Single(validator.Validate(JsonSerializer.Deserialize<BatchRequest>(json, DurableJobsJson.Options)).Problems);
        Assert.Equal((path, message), (problem.Path, problem.Message));
    }

    [Fact]
    public void A_request_without_priority_or_tenant_serializes_without_them()
    {
        // Stored schedule templates and recorded histories must read as they were written before these fields.
        string json = JsonSerializer.Serialize(new BatchRequest { Jobs = [new JobSpec { Type = "echo" }] }, DurableJobsJson.Options);
        Assert.DoesNotContain("priority", json, StringComparison.Ordinal);
        Assert.DoesNotContain("tenant", json, StringComparison.Ordinal);
    }
}
