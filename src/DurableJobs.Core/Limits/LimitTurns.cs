namespace DurableJobs.Core.Limits;

/// <summary>The bounds of a batch's place in the turns of a named limit (<c>priority</c>, <c>tenant</c>).</summary>
internal static class LimitTurns
{
    /// <summary>Lowest <c>priority</c>.</summary>
    public const int MinPriority = 1;

    /// <summary>Highest <c>priority</c>.</summary>
    public const int MaxPriority = 5;

    /// <summary>
    /// <c>priority</c> when a request leaves it out: the middle, so a batch can be put behind the others as well as ahead.
    /// </summary>
    public const int DefaultPriority = 3;

    /// <summary>Longest <c>tenant</c>, in characters: it travels in every chunk's input.</summary>
    public const int MaxTenantLength = 64;
}
