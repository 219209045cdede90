using System.Collections.Concurrent;
using DurableJobs.Core.Validation;

namespace DurableJobs.Core.Limits;

/// <summary>
/// The named limits this process knows (configuration, <c>AddLimit</c>, and those written through the API) and the
/// job types registered with limits. A job's limits are its type's registered ones plus those its batch request maps
/// to its type.
/// </summary>
internal sealed class LimitCatalog
{
    /// <summary>Highest <see cref="LimitSettings.MaxConcurrent"/>: a lease row lists its holders, and this keeps it small.</summary>
    public const int MaxConcurrentCeiling = 10_000;

    private readonly ConcurrentDictionary<string, LimitSettings> declared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> byType = new(StringComparer.Ordinal);

    /// <summary>The limits known here, by name.</summary>
    public IReadOnlyDictionary<string, LimitSettings> Declared => declared;

    /// <summary>Declares (or replaces) <paramref name="name"/>.</summary>
    public void Declare(string name, LimitSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(settings);
        declared[name] = settings;
    }

    /// <summary>Jobs of <paramref name="type"/> hold <paramref name="limits"/> wherever they run.</summary>
    public void MapType(string type, IEnumerable<string> limits) =>
        byType[type] = byType.TryGetValue(type, out string[]? before) ? before.Union(limits).ToArray() : limits.Distinct().ToArray();

    /// <summary>True when a name can be a limit's: the characters of a batch id.</summary>
    public static bool IsValidName(string name) => name.Length is > 0 and <= 63 && BatchValidator.IsValidId(name);

    /// <summary>
    /// The limits a job of <paramref name="type"/> takes, in one order everywhere (so two jobs never wait on each
    /// other's limits); empty when none.
    /// </summary>
    public IReadOnlyList<string> LimitsFor(string type, IReadOnlyDictionary<string, IReadOnlyList<string>>? fromRequest)
    {
        byType.TryGetValue(type, out string[]? registered);
        IReadOnlyList<string>? requested = null;
        fromRequest?.TryGetValue(type, out requested);
        if (registered is null && requested is null)
        {
            return [];
        }

        return (registered ?? []).Concat(requested ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Problems of the registered type mappings: a type mapped to a limit nobody declared (checked at start).</summary>
    public IEnumerable<string> MappingProblems() =>
        from pair in byType
        from limit in pair.Value
        where !declared.ContainsKey(limit)
        select $"Job type '{pair.Key}' is registered with limit '{limit}', which is not declared (DurableJobs:NamedLimits:{limit} or AddLimit).";
}
