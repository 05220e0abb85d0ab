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
        ServerBehind => "server-behind",
        ResyncReplica => "resync",
        ForwardsAcknowledged => "ack",
        DeliveryReceipt => "delivered",
        _ => throw new ArgumentException($"{o.GetType()} is not a DMUC protocol message", nameof(o)),
    };

    // The bytes of XElement.ToString(DisableFormatting | OmitDuplicateNamespaces), written as UTF-8 at once.
    private static readonly XmlWriterSettings WriterSettings = new()
    {
        OmitXmlDeclaration = true,
        Indent = false,
        NamespaceHandling = NamespaceHandling.OmitDuplicates,
        Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
    };

    // A batch that brings an entrant the roster of a big room is hundreds of KB: written through a string, it was a large
    // UTF-16 copy and a UTF-8 one per batch on the large object heap, fresh pages the kernel cleared for each.
    [ThreadStatic] private static MemoryStream? _buffer;

    public override byte[] ToBinary(object obj)
    {
        var buffer = _buffer ??= new MemoryStream();
        buffer.SetLength(0);
        using (var writer = XmlWriter.Create(buffer, WriterSettings))
            DmucCodec.ToXml(obj).WriteTo(writer);
        var bytes = buffer.ToArray();
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
