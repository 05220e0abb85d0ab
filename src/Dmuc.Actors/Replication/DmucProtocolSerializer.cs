using System.Runtime.Serialization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Serialization;
using Dmuc.Actors.Telemetry;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Carries the primary/replica messages between nodes as their XEP-0282 XML (<see cref="DmucCodec"/>), so
/// what crosses the wire is exactly what docs/protocol describes and what a packet capture shows.
/// </summary>
public sealed class DmucProtocolSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = false,
        IgnoreProcessingInstructions = false,
    };

    private DmucMetrics? _metrics;

    public override int Identifier => 4283;

    // Looked up on first use: serializers are made while the actor system is still starting.
    private DmucMetrics Metrics => _metrics ??= DmucMetrics.Of(system);

    public override string Manifest(object o) => o switch
    {
        ReplicaBatch => "batch",
        ForwardedStanza => "forward",
        EnterRefused => "enter-refused",
        KeepalivePing => "ping",
        KeepalivePong => "pong",
        RequestNetjoin => "netjoin",
        ResyncReplica => "resync",
        ForwardsAcknowledged => "ack",
        DeliveryReceipt => "delivered",
        _ => throw new ArgumentException($"{o.GetType()} is not a DMUC protocol message", nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        var bytes = Encoding.UTF8.GetBytes(DmucCodec.ToXml(obj).ToString(SaveOptions.DisableFormatting | SaveOptions.OmitDuplicateNamespaces));
        Metrics.InterNodeMessage(Manifest(obj), InterNodeDirection.Sent, bytes.Length);
        return bytes;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        Metrics.InterNodeMessage(manifest, InterNodeDirection.Received, bytes.Length);
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(bytes), ReaderSettings);
            return DmucCodec.FromXml(XElement.Load(reader));
        }
        catch (Exception error) when (error is XmlException or FormatException)
        {
            throw new SerializationException($"malformed DMUC '{manifest}' message: {error.Message}", error);
        }
    }
}
