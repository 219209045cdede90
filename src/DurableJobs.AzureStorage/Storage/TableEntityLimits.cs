using System.Globalization;
using Azure.Data.Tables;

namespace DurableJobs.Engine.Storage;

/// <summary>
/// Azure Table's limits on one entity, measured the way the service counts them: 1 MiB per entity, 64 KiB per
/// string property (UTF-16, so 32 Ki characters), 252 properties besides the keys and the timestamp. Azurite
/// enforces none of them, so a row that grows past them passes every local test and fails on Azure; checking here
/// makes the emulator refuse what Azure would.
/// </summary>
internal static class TableEntityLimits
{
    /// <summary>Most bytes an entity may hold, keys and property names included.</summary>
    public const int MaxEntityBytes = 1024 * 1024;

    /// <summary>Most characters a string property may hold (64 KiB of UTF-16).</summary>
    public const int MaxStringChars = 32 * 1024;

    /// <summary>Most properties an entity may have besides PartitionKey, RowKey and Timestamp.</summary>
    public const int MaxProperties = 252;

    /// <summary>
    /// The entity's size by the service's formula: 4 bytes, plus the keys as UTF-16, plus per property 8 bytes, its
    /// name as UTF-16 and its value (a string: 4 bytes + UTF-16; binary: 4 bytes + its length; the fixed-size types
    /// their size). The timestamp is part of the first 4 bytes; the ETag is not stored with the entity.
    /// </summary>
    public static long SizeOf(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        long size = 4 + (2L * ((entity.PartitionKey?.Length ?? 0) + (entity.RowKey?.Length ?? 0)));
        foreach ((string name, object value) in entity)
        {
            if (IsSystemProperty(name))
            {
                continue;
            }

            size += 8 + (2L * name.Length) + ValueSize(value);
        }

        return size;
    }

    /// <summary>What about <paramref name="entity"/> Azure Table would refuse, or null when it fits.</summary>
    public static string? Violation(TableEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        int properties = 0;
        foreach ((string name, object value) in entity)
        {
            if (IsSystemProperty(name))
            {
                continue;
            }

            properties++;
            if (value is string text && text.Length > MaxStringChars)
            {
                return string.Create(CultureInfo.InvariantCulture, $"property {name} holds {text.Length} characters; Azure Table allows {MaxStringChars}");
            }
        }

        if (properties > MaxProperties)
        {
            return string.Create(CultureInfo.InvariantCulture, $"it has {properties} properties; Azure Table allows {MaxProperties}");
        }

        long size = SizeOf(entity);
        return size > MaxEntityBytes
            ? string.Create(CultureInfo.InvariantCulture, $"it is {size} bytes; Azure Table allows {MaxEntityBytes}")
            : null;
    }

    /// <summary>Throws what Azure would answer (400, entity too large) before the write, on any storage.</summary>
    public static void ThrowIfExceeded(TableEntity entity)
    {
        if (Violation(entity) is { } violation)
        {
            throw new InvalidOperationException($"Row {entity.PartitionKey}/{entity.RowKey} of table storage cannot be written: {violation}.");
        }
    }

    private static bool IsSystemProperty(string name) =>
        name is "PartitionKey" or "RowKey" or "Timestamp" || name.StartsWith("odata.", StringComparison.Ordinal);

    private static long ValueSize(object? value) => value switch
    {
        null => 0,
        string text => 4 + (2L * text.Length),
        byte[] bytes => 4 + bytes.Length,
        BinaryData data => 4 + data.ToMemory().Length,
        bool => 1,
        int => 4,
        long or double or DateTime or DateTimeOffset => 8,
        Guid => 16,
        _ => throw new NotSupportedException($"Table property of type {value.GetType().Name}."),
    };
}
