using CoreDataConverter = DurableTask.Core.Serializing.DataConverter;
using SdkDataConverter = Microsoft.DurableTask.DataConverter;

namespace DurableJobs.Engine.Shims;

/// <summary>
/// Lets Durable Task Core's client serialize with the SDK's converter, so what the client writes is exactly
/// what the SDK shims read (and the other way round).
/// </summary>
internal sealed class SdkDataConverterAdapter(SdkDataConverter inner) : CoreDataConverter
{
    public override string Serialize(object value) => inner.Serialize(value) ?? "null";

    public override string Serialize(object value, bool formatted) => Serialize(value);

    public override object Deserialize(string data, Type objectType) => inner.Deserialize(data, objectType)!;
}
