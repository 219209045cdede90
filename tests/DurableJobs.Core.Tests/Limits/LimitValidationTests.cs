using DurableJobs.Core.Handlers;
using DurableJobs.Core.Limits;
using DurableJobs.Core.Model;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Tests.Limits;

public sealed class LimitValidationTests
{
    private static BatchValidator Validator()
    {
        var catalog = new LimitCatalog();
        catalog.Declare("payments", new LimitSettings { MaxConcurrent = 7 });
        return new BatchValidator(new BatchLimits(), JobHandlerRegistry.CreateWithBuiltIns(), limitCatalog: catalog);
    }

    private static BatchRequest Request(Dictionary<string, IReadOnlyList<string>> limits) => new()
    {
        Jobs = [new JobSpec { Type = "echo" }],
        Limits = limits,
    };

    [Fact]
    public void A_request_mapping_a_registered_type_to_a_declared_limit_is_valid()
    {
        Assert.True(Validator().Validate(Request(new() { ["echo"] = ["payments"] })).IsValid);
    }

    [Fact]
    public void An_undeclared_limit_an_unregistered_type_and_an_empty_list_are_each_named_by_field()
    {
        ValidationResult result = Validator().Validate(Request(new()
        {
            ["echo"] = ["payments", "nope"],
            ["nosuchtype"] = ["payments"],
            ["delay"] = [],
        }));

        string[] fields = result.Problems.Select(p => p.Path).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["limits.delay", "limits.echo[1]", "limits.nosuchtype"], fields);
    }

    [Fact]
    public void Zero_negative_and_missing_settings_are_each_named()
    {
        Assert.Equal(["maxConcurrent"], new LimitSettings { MaxConcurrent = 0 }.Problems(string.Empty).Select(p => p.Field));
        Assert.Equal(["ratePerSecond"], new LimitSettings { RatePerSecond = -1 }.Problems(string.Empty).Select(p => p.Field));
        Assert.Equal(["burst"], new LimitSettings { RatePerSecond = 5, Burst = 0 }.Problems(string.Empty).Select(p => p.Field));
        Assert.Single(new LimitSettings().Problems(string.Empty));
    }

    [Fact]
    public void A_job_takes_its_registered_and_requested_limits_once_each_in_name_order()
    {
        var catalog = new LimitCatalog();
        catalog.MapType("echo", ["zeta", "alpha"]);
        Assert.Equal(["alpha", "beta", "zeta"], catalog.LimitsFor("echo", new Dictionary<string, IReadOnlyList<string>> { ["echo"] = ["beta", "alpha"] }));
        Assert.Empty(catalog.LimitsFor("delay", null));
        Assert.Equal(["Job type 'echo' is registered with limit 'alpha', which is not declared (DurableJobs:NamedLimits:alpha or AddLimit)."], catalog.MappingProblems().Order(StringComparer.Ordinal).Take(1));
    }
}
