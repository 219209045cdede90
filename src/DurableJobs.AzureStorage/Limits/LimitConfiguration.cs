using DurableJobs.Core.Limits;
using DurableJobs.Engine.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DurableJobs.Engine.Limits;

/// <summary>Fills the <see cref="LimitCatalog"/> from <c>DurableJobs:NamedLimits:{name}</c> and checks it.</summary>
internal static class LimitConfiguration
{
    /// <summary>The configuration section of the named limits.</summary>
    public const string SectionName = EngineOptions.SectionName + ":NamedLimits";

    /// <summary>
    /// Adds the configured limits to <paramref name="catalog"/> (those declared in code win) and throws when a limit is
    /// invalid or a job type is registered with a limit nobody declared, naming the setting.
    /// </summary>
    public static LimitCatalog Bind(IServiceProvider services, LimitCatalog catalog)
    {
        IConfiguration? configuration = services.GetService<IConfiguration>();
        if (configuration is not null)
        {
            foreach (IConfigurationSection section in configuration.GetSection(SectionName).GetChildren())
            {
                if (!catalog.Declared.ContainsKey(section.Key))
                {
                    catalog.Declare(section.Key, section.Get<LimitSettings>() ?? new LimitSettings());
                }
            }
        }

        var problems = new List<string>();
        foreach ((string name, LimitSettings settings) in catalog.Declared)
        {
            if (!LimitCatalog.IsValidName(name))
            {
                problems.Add($"{SectionName}:{name}: a limit's name is 1 to 63 letters, digits, '-', '_' and '.'.");
            }

            problems.AddRange(settings.Problems(string.Empty).Select(p => $"{SectionName}:{name}{(p.Field.Length > 0 ? ":" + p.Field : string.Empty)}: {p.Message}"));
        }

        problems.AddRange(catalog.MappingProblems());
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        }

        return catalog;
    }
}
